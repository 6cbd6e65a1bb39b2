/* Resolve each NAME with getaddrinfo(AF_UNSPEC, SOCK_STREAM), print "NAME ADDR ADDR ..."
 * in the C library's order, then wait until killed: a long-running process whose
 * resolver `v6core doctor --containers` must name, and whose printed order is the
 * oracle for the doctor's finding.  Built with gcc (glibc) and musl-gcc -static. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct addrinfo hints, *res = NULL, *p;
		memset(&hints, 0, sizeof hints);
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(argv[i], NULL, &hints, &res) != 0) {
			printf("%s !ERR\n", argv[i]);
			continue;
		}
		printf("%s", argv[i]);
		for (p = res; p != NULL; p = p->ai_next) {
			char buf[INET6_ADDRSTRLEN];
			const void *a = p->ai_family == AF_INET6
				? (const void *)&((struct sockaddr_in6 *)p->ai_addr)->sin6_addr
				: (const void *)&((struct sockaddr_in *)p->ai_addr)->sin_addr;
			printf(" %s", inet_ntop(p->ai_family, a, buf, sizeof buf) ? buf : "?");
		}
		printf("\n");
		freeaddrinfo(res);
	}
	fflush(stdout);
	for (;;)
		pause();
}
