import { createRequire } from "node:module"
const require = createRequire(import.meta.url)
let t0 = performance.now()
const webppl = require("webppl")
console.log("require ms", performance.now() - t0)
const code = `
var xs = [1,2,3,4,5]; var ys = [2.1,4.2,5.8,8.1,10.3];
var model = function() {
  var slope = sample(Gaussian({mu: 0, sigma: 2}))
  var intercept = sample(Gaussian({mu: 0, sigma: 1}))
  var noise = sample(Gamma({shape: 2, scale: 1}))
  var sd = Math.sqrt(noise)
  mapIndexed(function(i, x) { observe(Gaussian({mu: slope * x + intercept, sigma: sd}), ys[i]) }, xs)
  return slope
}
Infer({method: 'forward', samples: N, model: model})
`
t0 = performance.now()
const compiled = webppl.compile(code)
console.log("compile ms", performance.now() - t0)
let result: any
for (const N of [1000, 10000, 100000]) {
  const prepared = webppl.prepare(compiled, (_s: unknown, x: unknown) => { result = x }, { initialStore: {} })
  t0 = performance.now()
  ;(globalThis as any).N = N
  prepared.run()
  console.log(N, "ms", performance.now() - t0, typeof result, result && Object.keys(result))
}
