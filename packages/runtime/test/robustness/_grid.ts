import * as D from "@fugue/core/distributions/index"
import * as Rng from "@fugue/core/Rng"
const pos = [5e-324, 1e-310, 1e-300, 1e-100, 1e-10, 1e-3, 0.1, 1, 10, 1e10, 1e100, 1e300, Number.MAX_VALUE]
const real = [1e300, -1e300, 1e-300, 0, Number.MAX_VALUE, -Number.MAX_VALUE, 5e-324, 1e15, 1, -50]
const prob = [0, 5e-324, 1e-300, 1e-16, 0.5, 1 - 1e-16, 1 - 2 ** -53, 1]
const probPos = [5e-324, 1e-300, 1e-16, 1e-6, 0.5, 1 - 2 ** -53, 1]
const count = [0, 1, 30, 1000, 1e6, 1e15, 2 ** 53 - 1]
const int = [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 40, -1e15, 1e15, 0]
const fams: Array<[string, Array<Array<number>>, (p: Array<number>) => any]> = [
  ["Normal", [real, pos], (p) => D.Normal(p[0], p[1])],
  ["LogNormal", [real, pos], (p) => D.LogNormal(p[0], p[1])],
  ["Uniform", [real, pos], (p) => D.Uniform(p[0], p[0] + p[1])],
  ["Exponential", [pos], (p) => D.Exponential(p[0])],
  ["Gamma", [pos, pos], (p) => D.Gamma(p[0], p[1])],
  ["Beta", [pos, pos], (p) => D.Beta(p[0], p[1])],
  ["Bernoulli", [prob], (p) => D.Bernoulli(p[0])],
  ["Binomial", [count, prob], (p) => D.Binomial(p[0], p[1])],
  ["Poisson", [pos], (p) => D.Poisson(p[0])],
  ["Cauchy", [real, pos], (p) => D.Cauchy(p[0], p[1])],
  ["HalfCauchy", [pos], (p) => D.HalfCauchy(p[0])],
  ["HalfNormal", [pos], (p) => D.HalfNormal(p[0])],
  ["StudentT", [pos, real, pos], (p) => D.StudentT(p[0], p[1], p[2])],
  ["Laplace", [real, pos], (p) => D.Laplace(p[0], p[1])],
  ["Weibull", [pos, pos], (p) => D.Weibull(p[0], p[1])],
  ["ChiSquared", [pos], (p) => D.ChiSquared(p[0])],
  ["InverseGamma", [pos, pos], (p) => D.InverseGamma(p[0], p[1])],
  ["DiscreteUniform", [int, count], (p) => D.DiscreteUniform(p[0], p[0] + p[1])],
  ["Geometric", [probPos], (p) => D.Geometric(p[0])],
  ["NegativeBinomial", [pos, probPos], (p) => D.NegativeBinomial(p[0], p[1])],
  ["Dirichlet", [pos, pos], (p) => D.Dirichlet(p)],
  ["Multinomial", [count, pos, pos], (p) => D.Multinomial(p[0], [p[1], p[2]])],
  ["Categorical", [pos, pos], (p) => D.Categorical(p)]
]
const only = process.argv[2]
const cart = (xs: Array<Array<number>>): Array<Array<number>> => xs.reduce<Array<Array<number>>>((acc, x) => acc.flatMap((a) => x.map((v) => [...a, v])), [[]])
for (const [name, doms, mk] of fams) {
  if (only && name !== only) continue
  const bad: Array<string> = []
  let slow = 0
  for (const p of cart(doms)) {
    let d
    try { d = mk(p) } catch { continue }
    const t0 = performance.now()
    for (let s = 0; s < 20; s++) {
      const x = d.sample(Rng.make(s))
      const lp = d.logProb(x)
      if (Number.isNaN(lp) || lp === Infinity || !d.isValue(x)) { bad.push(`${name}(${p.join(", ")}) seed ${s}: x=${x} logProb=${lp} isValue=${d.isValue(x)}`); break }
    }
    if (performance.now() - t0 > 200) { slow++; bad.push(`SLOW ${name}(${p.join(", ")}) ${(performance.now() - t0).toFixed(0)}ms for 20 draws`) }
  }
  console.log(name, bad.length === 0 ? "ok" : "\n  " + bad.slice(0, 12).join("\n  ") + (bad.length > 12 ? `\n  … ${bad.length} in all` : ""))
}
