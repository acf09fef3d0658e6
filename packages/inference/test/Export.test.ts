// Export: ArviZ's dictionary (layout checked with xarray where python3-xarray is installed, as
// ArviZ builds its datasets), Stan-style CSV, the lossless JSON round trip, typed errors on bad
// input (hostile keys pollute nothing), and atomic writes.
import { describe, expect, it } from "@effect/vitest"
import { Ad, addr, HalfCauchy, Normal, observe, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Export from "../src/Export.ts"
import * as Nuts from "../src/Nuts.ts"
import { Builder } from "../src/Posterior.ts"

const ys = [28, 8, -3, 7, -1, 1, 18, 12]
const ss = [15, 10, 16, 11, 9, 11, 10, 18]
const eightSchools: Model<Ad.Real> = function*() {
  const mu = yield* sample("mu", Normal(0, 5))
  const tau = yield* sample("tau", HalfCauchy(5))
  for (let j = 0; j < 8; j++) {
    const eta = yield* sample(addr("eta", j), Normal(0, 1))
    yield* observe(addr("y", j), Normal(Ad.add(mu, Ad.mul(tau, eta)), ss[j]!), ys[j]!)
  }
  return mu
}
const post = Nuts.runUnsafe(eightSchools, { samples: 50, warmup: 50, chains: 2, seed: 1 })

/** A python3 that can import xarray, or undefined. */
const python = ["/usr/bin/python3", "python3"].find((p) => {
  try {
    execFileSync(p, ["-c", "import xarray, numpy"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})

describe("ArviZ", () => {
  it("gathers indexed sites into vector variables with dims chain × draw × eta_dim_0, and names Stan's sample stats as ArviZ does", () => {
    const d = Export.toArviz(post, { observedData: { y: ys } })
    expect(Object.keys(d.posterior).sort()).toEqual(["eta", "mu", "tau"])
    const eta = d.posterior.eta as Array<Array<Array<number>>>
    expect([eta.length, eta[0]!.length, eta[0]![0]!.length]).toEqual([2, 50, 8])
    expect(eta[1]![7]![3]).toBe(post.draws.get("eta#3")![1]![7])
    expect(d.dims).toEqual({ eta: ["eta_dim_0"], y: ["y_dim_0"] })
    expect(d.coords.eta_dim_0).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(Object.keys(d.sample_stats).sort()).toEqual(["acceptance_rate", "diverging", "energy", "lp", "n_steps", "step_size", "tree_depth"])
    expect(d.observed_data).toEqual({ y: ys })
    expect(d.attrs.algorithm).toBe("NUTS")
  })

  it("writes NaN and ±Infinity as the tokens Python's json reads", () => {
    const b = new Builder<number>("MH", 1, 3)
    b.columns.set("x", [new Float64Array([1, Number.NaN, -Infinity])])
    const text = Export.toArvizJSON(b.build())
    expect(text).toContain("[[1,NaN,-Infinity]]")
  })

  it.skipIf(python === undefined)("xarray builds every group's dataset from the export's dims and coords (what ArviZ does)", () => {
    const dir = mkdtempSync(join(tmpdir(), "fugue-export-"))
    const file = join(dir, "post.json")
    Export.writeFileUnsafe(file, Export.toArvizJSON(post, { observedData: { y: ys } }))
    const script = `
import json, sys, numpy as np, xarray as xr
d = json.load(open(sys.argv[1]))
shapes = {}
for group in ["posterior", "sample_stats"]:
    data = {}
    for name, values in d[group].items():
        dims = ["chain", "draw"] + d["dims"].get(name, [])
        data[name] = (dims, np.array(values, dtype=float))
    coords = {k: v for k, v in d["coords"].items() if any(k in dims for dims, _ in data.values())}
    ds = xr.Dataset(data, coords=coords)
    shapes[group] = {k: list(v.shape) for k, v in ds.data_vars.items()}
    shapes[group + "_dims"] = dict(ds.sizes)
obs = xr.Dataset({k: (d["dims"].get(k, []), np.array(v)) for k, v in d["observed_data"].items()})
shapes["observed"] = dict(obs.sizes)
print(json.dumps(shapes))
`
    const out = JSON.parse(execFileSync(python!, ["-c", script, file], { encoding: "utf8" }))
    expect(out.posterior).toEqual({ eta: [2, 50, 8], mu: [2, 50], tau: [2, 50] })
    expect(out.posterior_dims).toEqual({ chain: 2, draw: 50, eta_dim_0: 8 })
    expect(out.sample_stats.lp).toEqual([2, 50])
    expect(out.observed).toEqual({ y_dim_0: 8 })
  }, 60_000)

  it("says why the xarray check would be skipped", () => {
    if (python === undefined) console.log("xarray layout test skipped: no python3 with xarray (Debian: apt-get install python3-xarray)")
    expect(true).toBe(true)
  })
})

describe("CSV", () => {
  it("has Stan's sampler columns for NUTS, then the sites, one row per draw; non-finite values as NaN / Inf / -Inf", () => {
    const lines = Export.toCSV(post).trimEnd().split("\n")
    expect(lines[0]).toBe("chain,draw,lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__,eta#0,eta#1,eta#2,eta#3,eta#4,eta#5,eta#6,eta#7,mu,tau")
    expect(lines.length).toBe(1 + 2 * 50)
    const row = lines[51]!.split(",")
    expect(row.slice(0, 2)).toEqual(["1", "0"])
    expect(Number(row[17])).toBe(post.draws.get("mu")![1]![0])
    const b = new Builder<number>("IS", 1, 2)
    b.columns.set("a,b", [new Float64Array([Infinity, Number.NaN])])
    expect(Export.toCSV(b.build()).split("\n")).toEqual(['chain,draw,log_weight,"a,b"', "0,0,0,Inf", "0,1,0,NaN", ""])
  })
})

describe("lossless JSON", () => {
  it("round-trips draws, log weights, weights, evidence and seed exactly (NaN, ±Infinity, −0 included)", () => {
    const b = new Builder<number>("SMC", 2, 3)
    b.columns.set("x", [new Float64Array([1.5, Number.NaN, -0]), new Float64Array([Infinity, -Infinity, 1e-308])])
    b.logWeights[0]!.set([-1, -Infinity, 0])
    const original = b.build({ weights: [new Float64Array([0.5, 0, 0.5]), new Float64Array([1, 0, 0])], logEvidence: [-3.25, Number.NaN], seed: 42 })
    const back = Export.fromJSON(Export.toJSON(original))
    expect(back.sites).toEqual(["x"])
    expect(back.seed).toBe(42)
    for (let c = 0; c < 2; c++) {
      const a = original.draws.get("x")![c]!, z = back.draws.get("x")![c]!
      for (let i = 0; i < 3; i++) expect(Object.is(a[i], z[i])).toBe(true)
    }
    expect(Array.from(back.logWeights[0]!)).toEqual([-1, -Infinity, 0])
    expect(Object.is(back.logEvidence![1], Number.NaN)).toBe(true)
    const again = Export.fromJSON(Export.toJSON(post))
    expect(Array.from(again.draws.get("tau")![1]!)).toEqual(Array.from(post.draws.get("tau")![1]!))
  })

  it("corrupt, wrong-version and hostile input is ExportFormatError naming the problem, and pollutes no prototype", () => {
    const good = JSON.parse(Export.toJSON(post)) as Record<string, unknown>
    const badText = (text: string, path: RegExp) => {
      expect(() => Export.fromJSON(text)).toThrow(Export.ExportFormatError)
      expect(() => Export.fromJSON(text)).toThrow(path)
    }
    const bad = (mutate: (o: Record<string, unknown>) => void, path: RegExp) => {
      const o = structuredClone(good)
      mutate(o)
      badText(JSON.stringify(o), path)
    }
    badText("{not json", /input: is not JSON/)
    bad((o) => void (o.version = 2), /version: is 2; this reader reads version 1/)
    bad((o) => void (o.format = "other"), /format/)
    bad((o) => void delete (o.draws as Record<string, unknown>).mu, /draws\.mu: is missing/)
    bad((o) => void ((o.draws as Record<string, Array<Array<unknown>>>).mu![1]!.length = 3), /draws\.mu\[1\]: has 3 draws/)
    bad((o) => void ((o.draws as Record<string, Array<Array<unknown>>>).mu![0]![2] = "oops"), /draws\.mu\[0\]\[2\]: must be a number/)
    bad((o) => void ((o.draws as Record<string, unknown>).extra = []), /draws\.extra: is not in sites/)
    badText('{"format":"fugue-posterior","version":1,"__proto__":{"polluted":true}}', /__proto__: is a forbidden key/)
    badText('{"format":"fugue-posterior","version":1,"draws":{"constructor":{"prototype":{"polluted":true}}}}', /forbidden key/)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe("atomic writes", () => {
  it("a failed write leaves the old file intact and no temporary file behind", () => {
    const dir = mkdtempSync(join(tmpdir(), "fugue-atomic-"))
    const file = join(dir, "draws.csv")
    Export.writeFileUnsafe(file, "good\n")
    expect(readFileSync(file, "utf8")).toBe("good\n")
    // a write that fails part-way (the contents cannot be written): the old file survives
    expect(() => Export.writeFileUnsafe(file, Symbol("not text") as unknown as string)).toThrow()
    expect(readFileSync(file, "utf8")).toBe("good\n")
    expect(readdirSync(dir)).toEqual(["draws.csv"])
    // into a folder that does not exist: an error, nothing written
    expect(() => Export.writeFileUnsafe(join(dir, "missing", "x.csv"), "x")).toThrow()
    expect(existsSync(join(dir, "missing"))).toBe(false)
  })
})
