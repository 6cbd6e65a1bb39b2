// dns.lookup(name, {all: true}) per name, under node's --dns-result-order: "NAME ADDR...".
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
})();
