// The pure-Go resolver (build with CGO_ENABLED=0): prints "NAME ADDR..." per name;
// with LOOKUP_HOLD set, then waits until stdin closes.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

func main() {
	r := &net.Resolver{PreferGo: true}
	for _, n := range os.Args[1:] {
		addrs, err := r.LookupIPAddr(context.Background(), n)
		if err != nil {
			fmt.Printf("%s !ERR %v\n", n, err)
			continue
		}
		out := make([]string, 0, len(addrs))
		for _, a := range addrs {
			out = append(out, a.IP.String())
		}
		fmt.Printf("%s %s\n", n, strings.Join(out, " "))
	}
	if os.Getenv("LOOKUP_HOLD") != "" {
		_, _ = io.Copy(io.Discard, os.Stdin)
	}
}
