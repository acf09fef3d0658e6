/**
 * Eight schools (Rubin 1981; the data from posteriordb, `data/eight_schools.json`): the SAT
 * coaching effects y_j with standard errors σ_j, under the hierarchical model mu ~ N(0, 5),
 * tau ~ HalfCauchy(5), theta_j ~ N(mu, tau), y_j ~ N(theta_j, σ_j). Written centred (theta_j
 * sampled directly) the posterior is a funnel in (tau, theta) that NUTS cannot follow near
 * tau = 0, and it says so with divergent transitions; written non-centred (theta_j = mu +
 * tau·eta_j, eta_j ~ N(0, 1)) the same posterior samples cleanly. `main` prints both runs'
 * divergences and summaries beside the exact posterior moments of mu and tau (a 1-D quadrature
 * over tau, written here), and writes an HTML report of each run to the temporary folder. Run it
 * with `pnpm example eightSchools`.
 *
 * @since 0.2.0
 */
import { Ad, addr, HalfCauchy, Normal, observe, sample, type Model } from "@fugue/core"
import { Diagnostics, Nuts, Posterior, Report } from "@fugue/inference"
import { tmpdir } from "node:os"
import { join } from "node:path"
import data from "../../data/eight_schools.json" with { type: "json" }

/**
 * The centred form: theta_j ~ N(mu, tau) sampled directly.
 *
 * @category models
 * @since 0.2.0
 */
export const centred: Model.Model<void> = function*() {
  const mu = yield* sample("mu", Normal(0, 5))
  const tau = yield* sample("tau", HalfCauchy(5))
  for (let j = 0; j < data.J; j++) {
    const theta = yield* sample(addr("theta", j), Normal(mu, tau))
    yield* observe(addr("y", j), Normal(theta, data.sigma[j]!), data.y[j]!)
  }
}

/**
 * The non-centred form: theta_j = mu + tau·eta_j with eta_j ~ N(0, 1).
 *
 * @category models
 * @since 0.2.0
 */
export const nonCentred: Model.Model<void> = function*() {
  const mu = yield* sample("mu", Normal(0, 5))
  const tau = yield* sample("tau", HalfCauchy(5))
  for (let j = 0; j < data.J; j++) {
    const eta = yield* sample(addr("eta", j), Normal(0, 1))
    yield* observe(addr("y", j), Normal(Ad.add(mu, Ad.mul(tau, eta)), data.sigma[j]!), data.y[j]!)
  }
}

/**
 * The exact posterior means and sds of mu and tau.
 *
 * @category models
 * @since 0.2.0
 */
export interface Exact {
  readonly mu: { readonly mean: number; readonly sd: number }
  readonly tau: { readonly mean: number; readonly sd: number }
}

const logNormal = (x: number, m: number, v: number): number => -0.5 * Math.log(2 * Math.PI * v) - (0.5 * (x - m) ** 2) / v

/**
 * The exact posterior moments of mu and tau by quadrature over tau alone: given tau, theta
 * integrates out (y_j | mu, tau ~ N(mu, σ_j² + tau²)) and mu is conjugate, mu | tau, y ~ N(m, 1/P)
 * with P = 1/25 + Σ 1/v_j, m = (Σ y_j/v_j)/P, v_j = σ_j² + tau²; and by Bayes' identity at mu = m,
 * log p(y | tau) = Σ log N(y_j; m, v_j) + log N(m; 0, 25) − log N(m; m, 1/P). The trapezoid rule in
 * t = log tau over [−12, 9] with 20 000 points (HalfCauchy(5) density times the Jacobian tau):
 * the integrand is smooth, and the tail beyond e⁹ ≈ 8100 holds a fraction of the mass of about
 * 2·5/(π·8100) ≈ 4e−4 of the prior's, times a likelihood there far below its peak, so the error
 * is far below the samplers' Monte Carlo error.
 *
 * @example
 * exactMoments().tau.mean // ≈ 3.6
 *
 * @category constructors
 * @since 0.2.0
 */
export const exactMoments = (): Exact => {
  const T = 20_000, lo = -12, hi = 9, h = (hi - lo) / (T - 1)
  let z = 0, tau1 = 0, tau2 = 0, mu1 = 0, mu2 = 0
  const logW = new Float64Array(T), ms = new Float64Array(T), vs = new Float64Array(T)
  for (let k = 0; k < T; k++) {
    const t = lo + k * h, tau = Math.exp(t)
    let P = 1 / 25, s = 0
    for (let j = 0; j < data.J; j++) {
      const v = data.sigma[j]! ** 2 + tau * tau
      P += 1 / v
      s += data.y[j]! / v
    }
    const m = s / P
    let logLik = logNormal(m, 0, 25) - logNormal(m, m, 1 / P)
    for (let j = 0; j < data.J; j++) logLik += logNormal(data.y[j]!, m, data.sigma[j]! ** 2 + tau * tau)
    const logPrior = Math.log(2 / (Math.PI * 5 * (1 + (tau / 5) ** 2))) + t
    logW[k] = logPrior + logLik
    ms[k] = m
    vs[k] = 1 / P
  }
  const top = Math.max(...logW)
  for (let k = 0; k < T; k++) {
    const w = Math.exp(logW[k]! - top) * (k === 0 || k === T - 1 ? 0.5 : 1), tau = Math.exp(lo + k * h)
    z += w
    tau1 += w * tau
    tau2 += w * tau * tau
    mu1 += w * ms[k]!
    mu2 += w * (vs[k]! + ms[k]! ** 2)
  }
  const moments = (first: number, second: number) => ({ mean: first / z, sd: Math.sqrt(second / z - (first / z) ** 2) })
  return { mu: moments(mu1, mu2), tau: moments(tau1, tau2) }
}

/**
 * One form's run: its posterior, divergences after warm-up (all chains) and the estimates of
 * E[mu] and E[tau] with their MCSEs.
 *
 * @category models
 * @since 0.2.0
 */
export interface Run {
  readonly post: Posterior.Posterior<void, Nuts.Stats>
  readonly divergences: number
  readonly mu: { readonly mean: number; readonly mcse: number }
  readonly tau: { readonly mean: number; readonly mcse: number }
}

const runOf = (model: Model.Model<void>, seed: number, samples: number): Run => {
  const post = Nuts.runUnsafe(model, { samples, warmup: 1000, chains: 4, seed })
  const est = (site: string) => ({ mean: Posterior.mean(post, site), mcse: Diagnostics.mcse(Posterior.chainsOf(post, site))! })
  return { post, divergences: Nuts.stats(post).divergences.reduce((a, b) => a + b, 0), mu: est("mu"), tau: est("tau") }
}

/**
 * Both forms with NUTS from `seed`: 4 chains × (1000 warm-up + `samples` draws), default
 * targetAcceptance 0.8.
 *
 * @example
 * const { centred, nonCentred } = fit(1) // centred.divergences > 0
 *
 * @category constructors
 * @since 0.2.0
 */
export const fit = (seed: number, samples = 1000): { readonly centred: Run; readonly nonCentred: Run } => ({
  centred: runOf(centred, seed, samples),
  nonCentred: runOf(nonCentred, seed, samples)
})

/**
 * Runs both forms, prints their summaries, divergences and the exact moments, and writes a report
 * of each to the temporary folder.
 *
 * @category constructors
 * @since 0.2.0
 */
export const main = async (): Promise<void> => {
  const exact = exactMoments()
  const runs = fit(1)
  console.log(`Eight schools (posteriordb): y = ${data.y.join(", ")}; σ = ${data.sigma.join(", ")}`)
  console.log("mu ~ N(0, 5), tau ~ HalfCauchy(5), theta_j ~ N(mu, tau), y_j ~ N(theta_j, σ_j); NUTS, 4 chains × (1000 warm-up + 1000 draws)\n")
  for (const [name, run] of [["centred", runs.centred], ["non-centred", runs.nonCentred]] as const) {
    console.log(`${name}: ${run.divergences} divergent transitions after warm-up (of 4000)`)
    console.log(Diagnostics.report(run.post))
    console.log("")
  }
  console.log(`exact (quadrature over tau): E[mu] = ${exact.mu.mean.toFixed(3)} (sd ${exact.mu.sd.toFixed(3)}), E[tau] = ${exact.tau.mean.toFixed(3)} (sd ${exact.tau.sd.toFixed(3)})`)
  for (const [name, run] of [["centred", runs.centred], ["non-centred", runs.nonCentred]] as const) {
    console.log(
      `${name.padEnd(12)} E[mu] = ${run.mu.mean.toFixed(3)} ± ${run.mu.mcse.toFixed(3)}, E[tau] = ${run.tau.mean.toFixed(3)} ± ${run.tau.mcse.toFixed(3)} (± MCSE); |error| / MCSE: mu ${(Math.abs(run.mu.mean - exact.mu.mean) / run.mu.mcse).toFixed(1)}, tau ${(Math.abs(run.tau.mean - exact.tau.mean) / run.tau.mcse).toFixed(1)}`
    )
  }
  const centredPath = join(tmpdir(), "fugue-eight-schools-centred.html")
  const nonCentredPath = join(tmpdir(), "fugue-eight-schools-non-centred.html")
  Report.writeUnsafe(centredPath, runs.centred.post, { title: "Eight schools, centred (NUTS)", pairs: ["mu", "tau", "theta#0"] })
  Report.writeUnsafe(nonCentredPath, runs.nonCentred.post, { title: "Eight schools, non-centred (NUTS)", pairs: ["mu", "tau", "eta#0"] })
  console.log(`\nreports (divergences marked in the pair plots):\n  ${centredPath}\n  ${nonCentredPath}`)
}
