// dns.lookup(name, {all: true}) per name, under node's --dns-result-order: "NAME ADDR...";
// with LOOKUP_HOLD set, then waits until stdin closes.
const dns = require("dns");
(async () => {
  for (const n of process.argv.slice(2)) {
    try {
      const r = await dns.promises.lookup(n, { all: true });
      console.log(n + " " + r.map((x) => x.address).join(" "));
    } catch (e) {
      console.log(n + " !ERR " + e.code);
    }
  }
  if (process.env.LOOKUP_HOLD) {
    process.stdin.on("end", () => process.exit(0));
    process.stdin.resume();
  }
})();
