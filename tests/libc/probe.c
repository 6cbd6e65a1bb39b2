/* getaddrinfo probe for v6core's differential tests.
 *
 * For each NAME on the command line: getaddrinfo(NAME, NULL, {AF_UNSPEC, SOCK_STREAM})
 * and print one line "NAME ADDR ADDR ..." with the results in the order the C library
 * returned them (numeric text via inet_ntop), or "NAME !ERR <message>".
 * Built twice: with gcc (glibc) and with musl-gcc -static (musl).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct addrinfo hints, *res = NULL, *p;
		memset(&hints, 0, sizeof hints);
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		int rc = getaddrinfo(argv[i], NULL, &hints, &res);
		if (rc != 0) {
			printf("%s !ERR %s\n", argv[i], gai_strerror(rc));
			continue;
		}
		printf("%s", argv[i]);
		for (p = res; p != NULL; p = p->ai_next) {
			char buf[INET6_ADDRSTRLEN];
			const void *a = p->ai_family == AF_INET6
				? (const void *)&((struct sockaddr_in6 *)p->ai_addr)->sin6_addr
				: (const void *)&((struct sockaddr_in *)p->ai_addr)->sin_addr;
			if (!inet_ntop(p->ai_family, a, buf, sizeof buf))
				strcpy(buf, "?");
			printf(" %s", buf);
		}
		printf("\n");
		freeaddrinfo(res);
	}
	fflush(stdout);
	return 0;
}
