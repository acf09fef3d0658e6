// The single-site MH proposal handler (Wingate, Stuhlmüller & Goodman 2011, "lightweight
// Metropolis–Hastings"). It replays the current state except at one target choice, where it
// proposes a new value, and draws fresh from the prior at any address the state lacks.
//
// The state is the chain's trace: its choices in a sorted-btree map by address (`baseTree`, the
// runtime's `Choices`, the tree a `Trace` holds) and, beside it, the same choices in the order
// the model visited them (`base`, see mhChain.ts). The handler replays from the visit order
// (one comparison per site while the model visits in the same order) and looks an address up
// in the tree only when the order differs. It writes the proposed state into a second array
// (`visited`); on acceptance the chain swaps it in and writes the choices that changed into its
// tree (copy-on-write against any snapshot taken of it): an accepted move allocates only the
// choices that changed and the tree nodes on their paths. What the acceptance ratio needs:
//   logProposalRatio  log q(x | x') − log q(x' | x) at the target site, on the value's own scale
//   logFresh          Σ log p of the fresh draws (forward proposal density of new sites)
//   logDropped        Σ log p of the base choices the run did not visit (reverse proposal density)
// Every replayed value is rescored under the site's current distribution (correctness first:
// a parent may have changed); an unchanged log probability keeps the base's choice object.
//
// Choices are immutable, so a chain's state can share them with any trace (a starting trace, an
// SMC particle, a snapshot). Repeated addresses and dropped choices are found without marking
// them: while every visit is the base's choice at the same position, no address can repeat and
// the dropped choices are the base's tail; at the first visit out of that order the handler
// starts a set of the addresses visited so far and checks every later visit against it.
//
// A proposal whose weight becomes −∞ (a replayed value outside its site's new support, an
// impossible observation or factor) is certain to be rejected, so the handler ends the
// execution at once (`Execution.abort`) before user code sees the impossible value. A replayed
// value that fell outside its support is not redrawn: the reverse move could not regenerate
// it (the redrawn value would be replayed, not redrawn, on the way back), so the move has
// reverse density 0 and the exact MH ratio is 0.
//
// Proposals at the target, given its distribution d and current value x, with u = T⁻¹(x) the
// support's bijection to ℝ (@fugue/core/Bijection) and log J(u) = log |dx/du|:
//   kind "real", support Real:               identity, x' = x + s·z           ratio 0
//   kind "real", support Positive/NonNeg.:   u = log x, u' = u + s·z          ratio u' − u
//   kind "real", support Interval(a, b):     u = logit((x−a)/(b−a)), u' = u + s·z,
//                                            ratio log σ(u')σ(−u') − log σ(u)σ(−u)
//   (half-lines: shifted logs)               ratio log J(u') − log J(u) in every case
//   anything else (integer, boolean, vector, unknown support, or x on the boundary):
//                                            x' ~ d (prior proposal), ratio log d(x) − log d(x')
// The ratio is q(x|x')/q(x'|x) = (dx'/du')/(dx/du): the Gaussian walk is symmetric in u, and the
// x-scale densities carry the Jacobians of the inverse transform.
//
// Improper priors (Flat, FlatPositive) cannot be drawn: their `sample` throws ImproperPriorError.
// While the chain searches for its starting state (`initializing`) a fresh site of such a family
// takes the family's `initialValue()` instead (Flat 0, FlatPositive 1): the start only has to
// have a finite weight, it is not part of any acceptance ratio. From then on the site is walked
// like any other real site, and its log prior, 0, drops out of every ratio. A proposal never uses
// `initialValue`: a fresh draw's density is part of the ratio (logFresh), and a point value has
// none, so a proposal that needs a fresh improper site (one that appears only in some runs) fails
// with ImproperPriorError at that address.
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import { BroadcastDistribution } from "@fugue/core/distributions/Broadcast"
import type { Rng } from "@fugue/core/Rng"
import * as Bijection from "@fugue/core/Bijection"
import { PointMass } from "@fugue/runtime/Combinators"
import { abort, type Execution } from "@fugue/runtime/Execution"
import { DuplicateAddressError, type Handler } from "@fugue/runtime/Handler"
import { ChoiceTypeError, emptyChoices, typeOf, type Choice, type ChoiceValue, type Choices } from "@fugue/runtime/Trace"
import type { Selection } from "@fugue/runtime/Selection"
import { InvalidOptionsError } from "../Options.ts"
import type { Watch } from "./density.ts"

/**
 * A user proposal at one site: the proposal distribution given the current value. The forward
 * density q(x' | x) and the reverse q(x | x') (the same function at the proposed value) both enter
 * the acceptance ratio, so asymmetric proposals are exact.
 */
export type UserProposal = (current: ChoiceValue, address: Address) => Distribution<ChoiceValue>

/**
 * A user block proposal: new values for several sites at once, from the current ones. `propose`
 * returns a joint distribution over records of the block's values (sample and logProb); the
 * ratio uses its density at the proposed values and, from them, at the current ones.
 */
export interface BlockProposal {
  /** The block's sites: addresses, or a `Selection` (the current state's sites it selects). */
  readonly sites: ReadonlyArray<Address> | Selection
  readonly propose: (current: Readonly<Record<string, ChoiceValue>>) => {
    sample(rng: Rng): Readonly<Record<string, ChoiceValue>>
    logProb(values: Readonly<Record<string, ChoiceValue>>): number
  }
}

const badProposal = (address: Address, value: unknown): never => {
  throw new InvalidOptionsError({ algorithm: "MH", option: `proposals["${address}"]`, value, reason: "must return a distribution (an object with sample and logProb) for the current value" })
}

const isDistribution = (d: unknown): d is Distribution<ChoiceValue> =>
  typeof d === "object" && d !== null && typeof (d as { sample?: unknown }).sample === "function" &&
  typeof (d as { logProb?: unknown }).logProb === "function"

/** A choice made by an MH chain: a `Choice`, with the exact logit of a logit-walked value. */
export class MhChoice implements Choice {
  readonly address: Address
  readonly value: ChoiceValue
  readonly logProb: number
  /**
   * The exact logit of the value, for an interval site walked on the logit scale whose
   * distribution scores logits (`logProbLogit`); NaN otherwise. The value may be a rounded
   * σ(u); the state is u, and `logProb` is log p at the exact σ(u).
   */
  readonly logit: number
  constructor(address: Address, value: ChoiceValue, logProb: number, logit = Number.NaN) {
    this.address = address
    this.value = value
    this.logProb = logProb
    this.logit = logit
  }
}

/**
 * The exact logit a choice carries (an `MhChoice` of a logit-walked site), else NaN. A choice
 * from elsewhere has no `logit` property: reading it gives undefined, which the finiteness test
 * turns into NaN (cheaper than `instanceof` on the replay path).
 */
export const logitOf = (choice: Choice): number => {
  const logit = (choice as MhChoice).logit
  return logit - logit === 0 ? logit : Number.NaN
}

/** A tree holding `choices` (distinct addresses). */
export const treeOf = (choices: ReadonlyArray<Choice>): Choices => {
  const tree = emptyChoices()
  for (let k = 0; k < choices.length; k++) tree.set(choices[k]!.address, choices[k]!)
  return tree
}

const NO_CHOICES: Array<Choice> = []

const choiceTypeError = (address: Address, dist: Distribution<unknown>, value: unknown): never => {
  throw new ChoiceTypeError({ address, expected: dist.kind, actual: typeOf(value as ChoiceValue) })
}

export class ProposalHandler implements Handler<void> {
  rng: Rng
  /** The state's choices in visit order, and the same choices by address (built from `base` when first needed). */
  base: ReadonlyArray<Choice> = NO_CHOICES
  baseTree: Choices | undefined = undefined
  /** The base choice to propose at (compared by identity). */
  target: Choice | undefined = undefined
  /** The random-walk scale on the unconstrained scale. */
  scale = 1
  /** The proposed state, in visit order (its first `count` entries). */
  visited: Array<Choice> = []
  count = 0
  /** Whether every visited choice was a base choice at the same position (the positions still hold). */
  inOrder = true
  /** The addresses visited so far, kept from the first visit out of order on (undefined while `inOrder`). */
  private seen: Set<Address> | undefined = undefined
  /** After `settle`: the base choices the run did not visit. */
  droppedChoices: Array<Choice> = []
  logPrior = 0
  logLikelihood = 0
  logFactors = 0
  reused = 0
  fresh = 0
  logFresh = 0
  logDropped = 0
  dropped = 0
  logProposalRatio = 0
  /** Whether the target got a random-walk (adaptable) proposal rather than a prior one. */
  walked = false
  /** Whether this run searches for the chain's starting state: fresh improper sites take their `initialValue()`. */
  initializing = false
  /** When > 0: end the execution right after this many barriers (observe / factor), a model cut there. */
  cut = 0
  barriers = 0
  execution: Execution<unknown, void> | undefined = undefined
  /** User proposals by address (the `proposals` option of `Mh`). */
  proposals: ((address: Address) => UserProposal | undefined) | undefined = undefined
  /** During a block move: the proposed values of the block's sites (their current values are replaced). */
  block: ReadonlyMap<Address, ChoiceValue> | undefined = undefined
  /** When set: every instruction is noted in it (the chain's plain-arithmetic check, `Chain.provesPlainArithmetic`). */
  watch: Watch | undefined = undefined
  constructor(rng: Rng) {
    this.rng = rng
  }
  reset(
    base: ReadonlyArray<Choice>,
    baseTree: Choices | undefined,
    target: Choice | undefined,
    scale: number,
    initializing = false
  ): void {
    this.base = base
    this.initializing = initializing
    this.baseTree = baseTree
    this.target = target
    this.scale = scale
    this.count = 0
    this.inOrder = true
    this.seen = undefined
    if (this.droppedChoices.length > 0) this.droppedChoices = []
    this.logPrior = 0
    this.logLikelihood = 0
    this.logFactors = 0
    this.reused = 0
    this.fresh = 0
    this.logFresh = 0
    this.logDropped = 0
    this.dropped = 0
    this.logProposalRatio = 0
    this.walked = false
    this.barriers = 0
    this.block = undefined
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    // Models usually visit their choices in the same order every run: the next position first,
    // the tree only once the order differs.
    const next = this.base[this.count]
    const old = next !== undefined && next.address === address && this.seen === undefined ? next : this.outOfOrder(address)
    if (old === undefined) return this.fresh_(address, dist)
    this.reused++
    const value = old.value
    if (!dist.isValue(value)) choiceTypeError(address, dist, value)
    let choice = old
    if (old === this.target || this.block !== undefined) {
      choice = this.moved(address, dist as Distribution<any>, old)
    } else {
      // a replayed choice, rescored (on its exact logit when it carries one)
      const logit = (old as MhChoice).logit // undefined on a choice from elsewhere
      const logProb = logit - logit === 0 ? dist.logProbLogit!(logit) : (dist as Distribution<any>).logProb(value)
      if (logProb !== old.logProb) choice = this.rescored(address, dist as Distribution<any>, value, logProb, logit)
    }
    if (choice.logProb === -Infinity) throw abort
    this.logPrior += choice.logProb
    this.visited[this.count++] = choice
    if (this.watch !== undefined) this.watch.sampled(address, dist as Distribution<unknown>, choice.value)
    return choice.value as T
  }
  /** The target site (proposed) or, during a block move, a site of the block (its proposed value) or any other. */
  private moved(address: Address, dist: Distribution<ChoiceValue>, old: Choice): Choice {
    const blockValue = this.block === undefined ? undefined : this.block.get(address)
    if (blockValue !== undefined) {
      if (!dist.isValue(blockValue)) choiceTypeError(address, dist, blockValue)
      return new MhChoice(address, blockValue, dist.logProb(blockValue))
    }
    if (old === this.target) return this.propose(address, dist, old.value)
    const logit = logitOf(old)
    const logProb = logit === logit ? dist.logProbLogit!(logit) : dist.logProb(old.value)
    return logProb !== old.logProb ? this.rescored(address, dist, old.value, logProb, logit) : old
  }
  /**
   * A visit that is not the base's choice at the current position (or any visit after one):
   * checks the address against those visited so far and looks it up in the base's tree.
   */
  private outOfOrder(address: Address): Choice | undefined {
    let seen = this.seen
    if (seen === undefined) {
      seen = this.seen = new Set()
      for (let k = 0; k < this.count; k++) seen.add(this.visited[k]!.address)
      this.inOrder = false
    }
    if (seen.has(address)) throw new DuplicateAddressError({ address })
    seen.add(address)
    return (this.baseTree ??= treeOf(this.base)).get(address)
  }
  /** A site the base lacks: a fresh prior draw (at the start, an improper prior's initial value). */
  private fresh_<T>(address: Address, dist: Distribution<T>): T {
    const value = this.initializing && dist.initialValue !== undefined ? dist.initialValue() : dist.sample(this.rng)
    const logProb = dist.logProb(value)
    if (logProb === -Infinity) throw abort
    this.fresh++
    this.logFresh += logProb
    this.logPrior += logProb
    this.inOrder = false
    this.visited[this.count++] = new MhChoice(address, value as ChoiceValue, logProb)
    return value
  }
  /** A replayed value whose log probability changed (a parent moved), or a substituted site (its point). */
  private rescored(address: Address, dist: Distribution<ChoiceValue>, value: ChoiceValue, logProb: number, logit: number): MhChoice {
    if (dist instanceof PointMass) {
      // a substituted (fixed) site: its value is the point, never proposed
      return new MhChoice(address, dist.value, dist.scoreAs)
    }
    return new MhChoice(address, value, logProb, logit)
  }
  observe<T>(address: Address, dist: Distribution<T>, value: T): void {
    if (this.watch !== undefined) this.watch.observed(address, dist as Distribution<unknown>, value)
    const logProb = dist.logProb(value)
    if (logProb === -Infinity) throw abort
    this.logLikelihood += logProb
    if (this.cut > 0 && ++this.barriers >= this.cut) this.execution!.end()
  }
  factor(logWeight: number): void {
    if (this.watch !== undefined) this.watch.factored(logWeight)
    if (logWeight === -Infinity) throw abort
    this.logFactors += logWeight
    if (this.cut > 0 && ++this.barriers >= this.cut) this.execution!.end()
  }
  finish(): void {}

  /** The proposal's total log weight. */
  get logWeight(): number {
    return this.logPrior + this.logLikelihood + this.logFactors
  }

  /**
   * After the run: collects the base choices the run did not visit (`droppedChoices`) and sums
   * their log probabilities into `logDropped`, and trims `visited` to the proposed state.
   * Returns the number of choices of the proposed state. (Repeated addresses, fresh ones
   * included, were refused during the run.)
   */
  settle(): number {
    const base = this.base
    if (this.reused < base.length) {
      const seen = this.seen
      const dropped: Array<Choice> = []
      // in order throughout: the run visited a prefix of the base, and dropped the rest
      for (let i = seen === undefined ? this.count : 0; i < base.length; i++) {
        const c = base[i]!
        if (seen === undefined || !seen.has(c.address)) {
          dropped.push(c)
          this.logDropped += c.logProb
        }
      }
      this.dropped = dropped.length
      this.droppedChoices = dropped
    }
    if (this.visited.length !== this.count) this.visited.length = this.count
    return this.count
  }

  private propose(address: Address, dist: Distribution<ChoiceValue>, x: ChoiceValue): MhChoice {
    if (dist instanceof PointMass) return new MhChoice(address, dist.value, dist.scoreAs) // fixed: nothing to propose
    const user = this.proposals?.(address)
    if (user !== undefined) {
      // ratio q(x | x') / q(x' | x), both from the user's proposal
      const forward = user(x, address)
      if (!isDistribution(forward)) badProposal(address, forward)
      const value = forward.sample(this.rng)
      const backward = user(value, address)
      if (!isDistribution(backward)) badProposal(address, backward)
      const ratio = backward.logProb(x) - forward.logProb(value)
      this.logProposalRatio = ratio === ratio ? ratio : -Infinity
      return new MhChoice(address, value, dist.isValue(value) ? dist.logProb(value) : -Infinity)
    }
    if (dist.kind === "real" && typeof x === "number") {
      // a Gaussian random walk on the unconstrained scale of the support (Bijection: identity,
      // log, scaled logit, shifted log); ratio q(x|x')/q(x'|x) = |dx'/du'| / |dx/du|
      const support = dist.support
      if (support._tag === "Real") {
        // the identity (the commonest case, kept inline: measured 3 % of MH on the regression)
        if (x > -Infinity && x < Infinity) {
          const value = x + this.scale * this.rng.normal()
          this.walked = true
          return new MhChoice(address, value, dist.logProb(value))
        }
      } else if ((support._tag === "Positive" || support._tag === "NonNegative") && dist.logProbLogit === undefined) {
        // the log walk, inline: the bijection's numbers exactly (u = log x, x' = e^u',
        // ratio log J(u') − log J(u) = u' − u), without its three dispatches (measured 1.5 % of MH
        // on the regression, whose noise is Gamma)
        const known = logitOf(this.target!)
        if (known !== known && x > 0 && x < Infinity) {
          const u = Math.log(x)
          const u2 = u + this.scale * this.rng.normal()
          const value = Math.exp(u2)
          this.walked = true
          this.logProposalRatio = u2 - u
          return new MhChoice(address, value, dist.logProb(value))
        }
      }
      const bijection = support._tag === "Real" ? undefined : Bijection.of(support)
      if (bijection !== undefined && bijection._tag === "Scalar") {
        // the exact logit when the state carries one (the value may be a rounded σ(u))
        const known = logitOf(this.target!)
        const u = known === known ? known : bijection.inverse(x)
        if (u > -Infinity && u < Infinity) {
          const u2 = u + this.scale * this.rng.normal()
          const value = bijection.forward(u2)
          this.walked = true
          this.logProposalRatio = bijection.logJacobian(u2) - bijection.logJacobian(u)
          // a distribution that scores logits keeps the state exact near the ends (Beta near 0 or 1)
          if (dist.logProbLogit !== undefined) return new MhChoice(address, value, dist.logProbLogit(u2), u2)
          return new MhChoice(address, value, dist.logProb(value))
        }
      }
    }
    if (dist instanceof BroadcastDistribution && typeof x === "object" && x !== null && (x as ArrayLike<number>).length === dist.length) {
      // a vector site of a broadcast family: a Gaussian random walk on one coordinate, picked
      // uniformly (the pick is symmetric), on that coordinate's unconstrained scale; the ratio is
      // the coordinate's |dx'/du'| / |dx/du|, as for a scalar site
      const element = (Bijection.of(dist.support) as Bijection.Vector | undefined)?.element
      if (element !== undefined) {
        const xs = x as ArrayLike<number>
        const k = Math.min(dist.length - 1, Math.floor(this.rng.uniform() * dist.length))
        const u = element.inverse(xs[k]!)
        if (u > -Infinity && u < Infinity) {
          const u2 = u + this.scale * this.rng.normal()
          const value = Float64Array.from(xs)
          value[k] = element.forward(u2)
          this.walked = true
          this.logProposalRatio = element.logJacobian(u2) - element.logJacobian(u)
          return new MhChoice(address, value, dist.logProb(value))
        }
      }
    }
    const value = dist.sample(this.rng)
    const logProb = dist.logProb(value)
    this.logProposalRatio = dist.logProb(x) - logProb
    return new MhChoice(address, value, logProb)
  }
}
