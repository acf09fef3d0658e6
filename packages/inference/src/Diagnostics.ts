/**
 * Convergence diagnostics for MCMC output, and posterior summaries. Use them after every MCMC
 * run: `rhat` (rank-normalised split R-hat, the recommended convergence check; values above
 * 1.01 mean the chains disagree), `essBulk` / `essTail` (how many independent draws the
 * chains are worth for the centre and the tails), `mcse` / `mcseQuantile` (Monte Carlo
 * standard errors), `geweke` (a single-chain drift test), `quantile` (the library's one
 * sample-quantile rule), and `summary` / `formatSummary` for a printable table over a
 * `Posterior`, and `report` for the table with every warning (the sites' and the sampler's).
 * The estimators follow Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021),
 * "Rank-normalization, folding, and localization: an improved R-hat for assessing convergence
 * of MCMC", as implemented in Stan (`stan/analyze/mcmc`), ArviZ (`arviz.stats.diagnostics`)
 * and the R package posterior. Inputs are chains of equal length (at least one chain of at
 * least 4 draws, all finite); anything else raises `DiagnosticsInputError`, and an options
 * object with an unknown key or an invalid value raises `InvalidOptionsError` before any work.
 * Where a quantity is undefined (every draw the same value) the result is `undefined`, never
 * NaN.
 *
 * The estimators live in `internal/estimators.ts`, the summary table and its printing in
 * `internal/summary.ts`; this module is their public face.
 *
 * @since 0.1.0
 */
export {
  autocorrelation,
  autocovariance,
  type Chain,
  type Chains,
  DiagnosticsInputError,
  ess,
  essBulk,
  essMean,
  essQuantile,
  essSd,
  essTail,
  geweke,
  type GewekeOptions,
  mcse,
  mcseQuantile,
  quantile,
  rhat,
  rhatBasic,
  rhatBulk,
  rhatTail
} from "./internal/estimators.ts"
export {
  type FormatOptions,
  formatSummary,
  quantileKey,
  report,
  summary,
  summaryToMarkdown,
  type SummaryOptions,
  type SummaryRow
} from "./internal/summary.ts"
