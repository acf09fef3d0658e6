import * as D from "@fugue/core/distributions/index"
import * as Rng from "@fugue/core/Rng"
for (const a of [1e300, 1e307, 1e308, Number.MAX_VALUE]) for (const r of [1, 1e10, 1e100, 1e200, 1e300]) {
  const d = D.Gamma(a, r); const x = d.sample(Rng.make(0))
  console.log(`Gamma(${a}, ${r}) x=${x} logProb(x)=${d.logProb(x)} logProb(a/r)=${d.logProb(a / r)}`)
}
