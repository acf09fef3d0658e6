;; The NUTS transition's passes over the coordinates (diagonal metric, whitened momentum) in
;; WebAssembly SIMD: hamiltonian.ts (`Kernels`) says what each computes and why, and its
;; `scalarKernels` and `mergeUp` are the same arithmetic in JavaScript, which these equal bit for
;; bit. `node test/utils/wasm.ts` assembles this file into leapfrogWasm.ts (wabt);
;; test/Hamiltonian.test.ts checks that the committed bytes are what it assembles to.
;;
;; Every vector is a slot of the imported memory, read as doubles: arguments are indices in
;; doubles (hdr, a byte address, excepted), n the number of coordinate pairs; slots are padded to
;; an even length with zeros, which stay zero and add nothing to the sums. Each f64x2 lane does,
;; element by element, the scalar code's operations in its order, so the results are the scalar
;; code's; a sum keeps one partial per lane (even coordinates, odd coordinates) and adds the two
;; at the end. A Hamiltonian's region of the memory starts with its header, at byte hdr: doubles
;; 0 to 4 the log density at the newest point (the gradient writes it there), H and the initial
;; kinetic energy (written here), ε/2 and ε (read here: a double passed to a call that V8 does not
;; inline is boxed, an allocation per call); bytes 64 to 107 the int32 offsets of the tree's slots
;; that `right` and `$top` read (`I_L0` … in hamiltonian.ts: L0, RUN, the subtree's ρ and first
;; momentum, the trajectory's ρ, ρ_fwd, ρ_bck, p_fwd, p_bck, p_fwd_bck, p_bck_fwd); bytes 108 to
;; 123 the stream's xoroshiro128+ state during a transition and 124 a slow-path layer (`normals`).
;; `tree`, the whole transition after the momentum, also reads ε at byte 48 and writes what it did
;; at bytes 56 (the acceptance's sum), 128 (the selected point's H) and 136 … 152 (int32s: steps,
;; rescaled leaves and merges, depth, divergence); bytes 156 … 183 hold its stack of free points,
;; 184 … 239 the log densities and 256 … 311 the H of the pool's 7 points (the header is 384 bytes).
(module
  (import "env" "memory" (memory 1))
  ;; the density at point k of the pool (`tree`): its gradient into the point's g, the log density
  ;; into double 0 of the header; Math.log and Math.log1p for a merge of rescaled weights (rare)
  (import "env" "gradient" (func $gradient (param i32)))
  (import "env" "log" (func $log (param f64) (result f64)))
  (import "env" "log1p" (func $log1p (param f64) (result f64)))

  ;; a leaf with no left sibling: the second half step (p at po, also written at sum and beg), the
  ;; kinetic energy, H into double 1, and the next leaf's half step (ph) and position (nq); if it
  ;; is a subtree of `one` leaf, returns 4·(the whole trajectory's criterion), else 0
  (func $leaf (export "leaf")
    (param $hdr i32) (param $po i32) (param $ph i32) (param $md i32) (param $g i32) (param $q i32) (param $nq i32)
    (param $sum i32) (param $beg i32) (param $n i32) (param $one i32) (result i32)
    (local $o i32) (local $end i32) (local $hv v128) (local $ev v128) (local $si v128) (local $gi v128)
    (local $pi v128) (local $pn v128) (local $kin v128)
    (local.set $hv (v128.load64_splat offset=24 (local.get $hdr)))
    (local.set $ev (v128.load64_splat offset=32 (local.get $hdr)))
    (local.set $end (i32.shl (local.get $n) (i32.const 4)))
    (local.set $po (i32.shl (local.get $po) (i32.const 3)))
    (local.set $ph (i32.shl (local.get $ph) (i32.const 3)))
    (local.set $md (i32.shl (local.get $md) (i32.const 3)))
    (local.set $g (i32.shl (local.get $g) (i32.const 3)))
    (local.set $q (i32.shl (local.get $q) (i32.const 3)))
    (local.set $nq (i32.shl (local.get $nq) (i32.const 3)))
    (local.set $sum (i32.shl (local.get $sum) (i32.const 3)))
    (local.set $beg (i32.shl (local.get $beg) (i32.const 3)))
    (loop $l
      (local.set $si (v128.load (i32.add (local.get $md) (local.get $o))))
      (local.set $gi (f64x2.mul (local.get $si) (v128.load (i32.add (local.get $g) (local.get $o)))))
      (local.set $pi
        (f64x2.add (v128.load (i32.add (local.get $ph) (local.get $o))) (f64x2.mul (local.get $hv) (local.get $gi))))
      (v128.store (i32.add (local.get $po) (local.get $o)) (local.get $pi))
      (local.set $kin (f64x2.add (local.get $kin) (f64x2.mul (local.get $pi) (local.get $pi))))
      (v128.store (i32.add (local.get $sum) (local.get $o)) (local.get $pi))
      (v128.store (i32.add (local.get $beg) (local.get $o)) (local.get $pi))
      (local.set $pn (f64x2.add (local.get $pi) (f64x2.mul (local.get $hv) (local.get $gi))))
      (v128.store (i32.add (local.get $ph) (local.get $o)) (local.get $pn))
      (v128.store (i32.add (local.get $nq) (local.get $o))
        (f64x2.add
          (v128.load (i32.add (local.get $q) (local.get $o)))
          (f64x2.mul (f64x2.mul (local.get $ev) (local.get $si)) (local.get $pn))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br_if $l (i32.lt_u (local.get $o) (local.get $end))))
    (f64.store offset=8 (local.get $hdr)
      (f64.add
        (f64.neg (f64.load (local.get $hdr)))
        (f64.mul (f64.const 0.5)
          (f64.add (f64x2.extract_lane 0 (local.get $kin)) (f64x2.extract_lane 1 (local.get $kin))))))
    (if (result i32) (local.get $one)
      (then (i32.shl (call $top (local.get $hdr) (local.get $n)) (i32.const 2)))
      (else (i32.const 0))))

  ;; a right leaf: as `leaf`, its left neighbour's momentum ra read at po first; ρ = ra + p at
  ;; sum, ra at beg, p at end; returns whether ra·ρ > 0 and p·ρ > 0 (the pair's criterion)
  (func $pair (export "pair")
    (param $hdr i32) (param $po i32) (param $ph i32) (param $md i32) (param $g i32) (param $q i32) (param $nq i32)
    (param $sum i32) (param $beg i32) (param $last i32) (param $n i32)
    (result i32)
    (local $o i32) (local $end i32) (local $hv v128) (local $ev v128) (local $si v128) (local $gi v128)
    (local $ra v128) (local $pi v128) (local $s v128) (local $pn v128) (local $kin v128) (local $a v128) (local $b v128)
    (local.set $hv (v128.load64_splat offset=24 (local.get $hdr)))
    (local.set $ev (v128.load64_splat offset=32 (local.get $hdr)))
    (local.set $end (i32.shl (local.get $n) (i32.const 4)))
    (local.set $po (i32.shl (local.get $po) (i32.const 3)))
    (local.set $ph (i32.shl (local.get $ph) (i32.const 3)))
    (local.set $md (i32.shl (local.get $md) (i32.const 3)))
    (local.set $g (i32.shl (local.get $g) (i32.const 3)))
    (local.set $q (i32.shl (local.get $q) (i32.const 3)))
    (local.set $nq (i32.shl (local.get $nq) (i32.const 3)))
    (local.set $sum (i32.shl (local.get $sum) (i32.const 3)))
    (local.set $beg (i32.shl (local.get $beg) (i32.const 3)))
    (local.set $last (i32.shl (local.get $last) (i32.const 3)))
    (loop $l
      (local.set $si (v128.load (i32.add (local.get $md) (local.get $o))))
      (local.set $gi (f64x2.mul (local.get $si) (v128.load (i32.add (local.get $g) (local.get $o)))))
      (local.set $ra (v128.load (i32.add (local.get $po) (local.get $o))))
      (local.set $pi
        (f64x2.add (v128.load (i32.add (local.get $ph) (local.get $o))) (f64x2.mul (local.get $hv) (local.get $gi))))
      (v128.store (i32.add (local.get $po) (local.get $o)) (local.get $pi))
      (local.set $kin (f64x2.add (local.get $kin) (f64x2.mul (local.get $pi) (local.get $pi))))
      (local.set $s (f64x2.add (local.get $ra) (local.get $pi)))
      (v128.store (i32.add (local.get $sum) (local.get $o)) (local.get $s))
      (local.set $a (f64x2.add (local.get $a) (f64x2.mul (local.get $ra) (local.get $s))))
      (local.set $b (f64x2.add (local.get $b) (f64x2.mul (local.get $pi) (local.get $s))))
      (v128.store (i32.add (local.get $beg) (local.get $o)) (local.get $ra))
      (v128.store (i32.add (local.get $last) (local.get $o)) (local.get $pi))
      (local.set $pn (f64x2.add (local.get $pi) (f64x2.mul (local.get $hv) (local.get $gi))))
      (v128.store (i32.add (local.get $ph) (local.get $o)) (local.get $pn))
      (v128.store (i32.add (local.get $nq) (local.get $o))
        (f64x2.add
          (v128.load (i32.add (local.get $q) (local.get $o)))
          (f64x2.mul (f64x2.mul (local.get $ev) (local.get $si)) (local.get $pn))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br_if $l (i32.lt_u (local.get $o) (local.get $end))))
    (f64.store offset=8 (local.get $hdr)
      (f64.add
        (f64.neg (f64.load (local.get $hdr)))
        (f64.mul (f64.const 0.5)
          (f64.add (f64x2.extract_lane 0 (local.get $kin)) (f64x2.extract_lane 1 (local.get $kin))))))
    (i32.and
      (f64.gt (f64.add (f64x2.extract_lane 0 (local.get $a)) (f64x2.extract_lane 1 (local.get $a))) (f64.const 0))
      (f64.gt (f64.add (f64x2.extract_lane 0 (local.get $b)) (f64x2.extract_lane 1 (local.get $b))) (f64.const 0))))

  ;; the generalised no-U-turn criterion of a merge (`persistsDiagonal` in hamiltonian.ts):
  ;; ρ = ρA + ρB written at out (which may be bRho), then the six dot products
  (func $persists (export "persists")
    (param $pm i32) (param $pp i32) (param $aRho i32) (param $bRho i32) (param $pae i32) (param $pbb i32)
    (param $out i32) (param $n i32) (result i32)
    (local $o i32) (local $end i32) (local $ra v128) (local $rb v128) (local $s v128)
    (local $vm v128) (local $vp v128) (local $vbb v128) (local $vae v128) (local $x v128) (local $y v128)
    (local $a v128) (local $b v128) (local $c v128) (local $e v128) (local $f v128) (local $k v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 4)))
    (local.set $pm (i32.shl (local.get $pm) (i32.const 3)))
    (local.set $pp (i32.shl (local.get $pp) (i32.const 3)))
    (local.set $aRho (i32.shl (local.get $aRho) (i32.const 3)))
    (local.set $bRho (i32.shl (local.get $bRho) (i32.const 3)))
    (local.set $pae (i32.shl (local.get $pae) (i32.const 3)))
    (local.set $pbb (i32.shl (local.get $pbb) (i32.const 3)))
    (local.set $out (i32.shl (local.get $out) (i32.const 3)))
    (loop $l
      (local.set $ra (v128.load (i32.add (local.get $aRho) (local.get $o))))
      (local.set $rb (v128.load (i32.add (local.get $bRho) (local.get $o))))
      (local.set $s (f64x2.add (local.get $ra) (local.get $rb)))
      (v128.store (i32.add (local.get $out) (local.get $o)) (local.get $s))
      (local.set $vm (v128.load (i32.add (local.get $pm) (local.get $o))))
      (local.set $vp (v128.load (i32.add (local.get $pp) (local.get $o))))
      (local.set $vbb (v128.load (i32.add (local.get $pbb) (local.get $o))))
      (local.set $vae (v128.load (i32.add (local.get $pae) (local.get $o))))
      (local.set $a (f64x2.add (local.get $a) (f64x2.mul (local.get $vm) (local.get $s))))
      (local.set $b (f64x2.add (local.get $b) (f64x2.mul (local.get $vp) (local.get $s))))
      (local.set $x (f64x2.add (local.get $ra) (local.get $vbb)))
      (local.set $c (f64x2.add (local.get $c) (f64x2.mul (local.get $vm) (local.get $x))))
      (local.set $e (f64x2.add (local.get $e) (f64x2.mul (local.get $vbb) (local.get $x))))
      (local.set $y (f64x2.add (local.get $rb) (local.get $vae)))
      (local.set $f (f64x2.add (local.get $f) (f64x2.mul (local.get $vae) (local.get $y))))
      (local.set $k (f64x2.add (local.get $k) (f64x2.mul (local.get $vp) (local.get $y))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br_if $l (i32.lt_u (local.get $o) (local.get $end))))
    (i32.and
      (i32.and
        (i32.and
          (f64.gt (f64.add (f64x2.extract_lane 0 (local.get $a)) (f64x2.extract_lane 1 (local.get $a))) (f64.const 0))
          (f64.gt (f64.add (f64x2.extract_lane 0 (local.get $b)) (f64x2.extract_lane 1 (local.get $b))) (f64.const 0)))
        (i32.and
          (f64.gt (f64.add (f64x2.extract_lane 0 (local.get $c)) (f64x2.extract_lane 1 (local.get $c))) (f64.const 0))
          (f64.gt (f64.add (f64x2.extract_lane 0 (local.get $e)) (f64x2.extract_lane 1 (local.get $e))) (f64.const 0))))
      (i32.and
        (f64.gt (f64.add (f64x2.extract_lane 0 (local.get $f)) (f64x2.extract_lane 1 (local.get $f))) (f64.const 0))
        (f64.gt (f64.add (f64x2.extract_lane 0 (local.get $k)) (f64x2.extract_lane 1 (local.get $k))) (f64.const 0)))))

  ;; a right leaf n of a subtree with t trailing ones: `pair`, then (if the pair persists) the
  ;; merges j = 1 … t − 1 with the left siblings at level j (`mergeUp` in hamiltonian.ts), then
  ;; (if the leaf completes the subtree and every merge persists) the whole trajectory's
  ;; criterion. Returns 0 if the pair turns, 1 if a merge does, else 3 | 4·(the trajectory
  ;; persists, when complete).
  (func $right (export "right")
    (param $hdr i32) (param $po i32) (param $ph i32) (param $md i32) (param $g i32) (param $q i32) (param $nq i32)
    (param $sum i32) (param $beg i32) (param $last i32) (param $n i32) (param $t i32) (param $complete i32)
    (result i32)
    (local $w i32) (local $L0 i32) (local $run i32) (local $j i32) (local $aRho i32) (local $top3 i32) (local $isLast i32)
    (if (i32.eqz (call $pair (local.get $hdr) (local.get $po) (local.get $ph) (local.get $md) (local.get $g) (local.get $q) (local.get $nq)
          (local.get $sum) (local.get $beg) (local.get $last) (local.get $n)))
      (then (return (i32.const 0))))
    (local.set $w (i32.shl (local.get $n) (i32.const 1)))
    (local.set $L0 (i32.load offset=64 (local.get $hdr)))
    (local.set $run (i32.load offset=68 (local.get $hdr)))
    (local.set $top3 (i32.add (local.get $L0) (i32.mul (i32.mul (i32.const 3) (local.get $w)) (local.get $t))))
    (local.set $j (i32.const 1))
    (block $done
      (loop $merge
        (br_if $done (i32.ge_u (local.get $j) (local.get $t)))
        (local.set $aRho (i32.add (local.get $L0) (i32.mul (i32.mul (i32.const 3) (local.get $w)) (local.get $j))))
        (local.set $isLast (i32.eq (local.get $j) (i32.sub (local.get $t) (i32.const 1))))
        (if (i32.eqz
              (call $persists
                (i32.add (local.get $aRho) (local.get $w))
                (local.get $po)
                (local.get $aRho)
                (local.get $run)
                (i32.add (local.get $aRho) (i32.shl (local.get $w) (i32.const 1)))
                (select (local.get $L0) (i32.sub (local.get $aRho) (i32.shl (local.get $w) (i32.const 1))) (i32.eq (local.get $j) (i32.const 1)))
                (select
                  (select (i32.load offset=72 (local.get $hdr)) (local.get $top3) (local.get $complete))
                  (local.get $run)
                  (local.get $isLast))
                (local.get $n)))
          (then (return (i32.const 1))))
        (if (local.get $isLast)
          (then
            (call $copy
              (select (i32.load offset=76 (local.get $hdr)) (i32.add (local.get $top3) (local.get $w)) (local.get $complete))
              (i32.add (local.get $aRho) (local.get $w))
              (local.get $n))
            (if (i32.eqz (local.get $complete))
              (then (call $copy (i32.add (local.get $top3) (i32.shl (local.get $w) (i32.const 1))) (local.get $po) (local.get $n))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $merge)))
    (if (i32.eqz (local.get $complete)) (then (return (i32.const 3))))
    (i32.or (i32.const 3) (i32.shl (call $top (local.get $hdr) (local.get $n)) (i32.const 2))))

  ;; the whole trajectory's criterion: the backward part (ρ_bck, ending with p_bck_fwd) then the
  ;; forward part (starting with p_fwd_bck), offsets from the header's bytes 64 …
  (func $top (param $hdr i32) (param $n i32) (result i32)
    (call $persists
      (i32.load offset=96 (local.get $hdr)) (i32.load offset=92 (local.get $hdr))
      (i32.load offset=88 (local.get $hdr)) (i32.load offset=84 (local.get $hdr))
      (i32.load offset=104 (local.get $hdr)) (i32.load offset=100 (local.get $hdr))
      (i32.load offset=80 (local.get $hdr)) (local.get $n)))

  ;; a transition's start from the point (q, g) with momentum p0: p0 copied to ρ and both ends,
  ;; uᵀu into double 2, and the first leaf's half step and position in each direction (made here, as
  ;; the leaf before would make them): S[hf] = p0 + (ε/2)·(√m ⊙ g), S[fq] = q + (ε·√m) ⊙ S[hf]; S[hb]
  ;; and S[bq] the same with −ε (doubles 3 and 4 hold ε/2 and ε > 0 here)
  (func $start (export "start")
    (param $hdr i32) (param $p0 i32) (param $rho i32) (param $pf i32) (param $pb i32) (param $md i32) (param $q i32) (param $g i32)
    (param $hf i32) (param $fq i32) (param $hb i32) (param $bq i32) (param $n i32)
    (local $o i32) (local $end i32) (local $p v128) (local $kin v128) (local $hv v128) (local $ev v128) (local $si v128)
    (local $gi v128) (local $qi v128) (local $hn v128) (local $en v128) (local $pi v128)
    (local.set $hv (v128.load64_splat offset=24 (local.get $hdr)))
    (local.set $ev (v128.load64_splat offset=32 (local.get $hdr)))
    (local.set $hn (f64x2.neg (local.get $hv)))
    (local.set $en (f64x2.neg (local.get $ev)))
    (local.set $end (i32.shl (local.get $n) (i32.const 4)))
    (local.set $p0 (i32.shl (local.get $p0) (i32.const 3)))
    (local.set $rho (i32.shl (local.get $rho) (i32.const 3)))
    (local.set $pf (i32.shl (local.get $pf) (i32.const 3)))
    (local.set $pb (i32.shl (local.get $pb) (i32.const 3)))
    (local.set $md (i32.shl (local.get $md) (i32.const 3)))
    (local.set $q (i32.shl (local.get $q) (i32.const 3)))
    (local.set $g (i32.shl (local.get $g) (i32.const 3)))
    (local.set $hf (i32.shl (local.get $hf) (i32.const 3)))
    (local.set $fq (i32.shl (local.get $fq) (i32.const 3)))
    (local.set $hb (i32.shl (local.get $hb) (i32.const 3)))
    (local.set $bq (i32.shl (local.get $bq) (i32.const 3)))
    (loop $l
      (local.set $p (v128.load (i32.add (local.get $p0) (local.get $o))))
      (v128.store (i32.add (local.get $rho) (local.get $o)) (local.get $p))
      (v128.store (i32.add (local.get $pf) (local.get $o)) (local.get $p))
      (v128.store (i32.add (local.get $pb) (local.get $o)) (local.get $p))
      (local.set $kin (f64x2.add (local.get $kin) (f64x2.mul (local.get $p) (local.get $p))))
      (local.set $si (v128.load (i32.add (local.get $md) (local.get $o))))
      (local.set $gi (f64x2.mul (local.get $si) (v128.load (i32.add (local.get $g) (local.get $o)))))
      (local.set $qi (v128.load (i32.add (local.get $q) (local.get $o))))
      (local.set $pi (f64x2.add (local.get $p) (f64x2.mul (local.get $hv) (local.get $gi))))
      (v128.store (i32.add (local.get $hf) (local.get $o)) (local.get $pi))
      (v128.store (i32.add (local.get $fq) (local.get $o))
        (f64x2.add (local.get $qi) (f64x2.mul (f64x2.mul (local.get $ev) (local.get $si)) (local.get $pi))))
      (local.set $pi (f64x2.add (local.get $p) (f64x2.mul (local.get $hn) (local.get $gi))))
      (v128.store (i32.add (local.get $hb) (local.get $o)) (local.get $pi))
      (v128.store (i32.add (local.get $bq) (local.get $o))
        (f64x2.add (local.get $qi) (f64x2.mul (f64x2.mul (local.get $en) (local.get $si)) (local.get $pi))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br_if $l (i32.lt_u (local.get $o) (local.get $end))))
    (f64.store offset=16 (local.get $hdr)
      (f64.add (f64x2.extract_lane 0 (local.get $kin)) (f64x2.extract_lane 1 (local.get $kin)))))

  ;; standard normals into S[out] … S[out + n − 1] by the ziggurat's fast path (normals.ts,
  ;; `normalsOver`, the same words and arithmetic) from the stream's xoroshiro128+ state at bytes
  ;; 108 … 123 of the header (s0 = s01:s00, s1 = s11:s10, as `uniformOf` holds it), the layers'
  ;; edges x₀ … x₁₂₈ at S[tab] and their ratios xᵢ₊₁/xᵢ at S[tab + 129]. Returns how many it
  ;; wrote; where a draw falls outside its layer's rectangle it stops there, with that draw's u in
  ;; double 5 and its layer i at byte 124, the state stepped past its two words, for JavaScript's
  ;; slow path
  (func (export "normals") (param $hdr i32) (param $out i32) (param $n i32) (param $tab i32) (result i32)
    (local $s0 i64) (local $s1 i64) (local $k i32) (local $hi i32) (local $lo i32) (local $i i32) (local $u f64)
    (local.set $s0 (i64.load offset=108 (local.get $hdr)))
    (local.set $s1 (i64.load offset=116 (local.get $hdr)))
    (local.set $out (i32.shl (local.get $out) (i32.const 3)))
    (local.set $tab (i32.shl (local.get $tab) (i32.const 3)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $hi (i32.shr_u (i32.wrap_i64 (i64.add (local.get $s0) (local.get $s1))) (i32.const 6)))
        (local.set $s1 (i64.xor (local.get $s1) (local.get $s0)))
        (local.set $s0 (i64.xor (i64.xor (i64.rotl (local.get $s0) (i64.const 24)) (local.get $s1)) (i64.shl (local.get $s1) (i64.const 16))))
        (local.set $s1 (i64.rotl (local.get $s1) (i64.const 37)))
        (local.set $lo (i32.shr_u (i32.wrap_i64 (i64.add (local.get $s0) (local.get $s1))) (i32.const 6)))
        (local.set $s1 (i64.xor (local.get $s1) (local.get $s0)))
        (local.set $s0 (i64.xor (i64.xor (i64.rotl (local.get $s0) (i64.const 24)) (local.get $s1)) (i64.shl (local.get $s1) (i64.const 16))))
        (local.set $s1 (i64.rotl (local.get $s1) (i64.const 37)))
        (local.set $i (i32.shl (i32.and (local.get $hi) (i32.const 127)) (i32.const 3)))
        (local.set $u
          (f64.sub
            (f64.mul
              (f64.add
                (f64.add (f64.mul (f64.convert_i32_u (i32.shr_u (local.get $hi) (i32.const 7))) (f64.const 67108864)) (f64.convert_i32_u (local.get $lo)))
                (f64.const 0.5))
              (f64.const 0x1p-44))
            (f64.const 1)))
        (if (f64.lt (f64.abs (local.get $u)) (f64.load offset=1032 (i32.add (local.get $tab) (local.get $i))))
          (then
            (f64.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3)))
              (f64.mul (local.get $u) (f64.load (i32.add (local.get $tab) (local.get $i))))))
          (else
            (f64.store offset=40 (local.get $hdr) (local.get $u))
            (i32.store offset=124 (local.get $hdr) (i32.shr_u (local.get $i) (i32.const 3)))
            (br $done)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $l)))
    (i64.store offset=108 (local.get $hdr) (local.get $s0))
    (i64.store offset=116 (local.get $hdr) (local.get $s1))
    (local.get $k))

  ;; a slot copied to another
  (func $copy (export "copy") (param $dst i32) (param $src i32) (param $n i32)
    (local $o i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 4)))
    (local.set $dst (i32.shl (local.get $dst) (i32.const 3)))
    (local.set $src (i32.shl (local.get $src) (i32.const 3)))
    (loop $l
      (v128.store (i32.add (local.get $dst) (local.get $o)) (v128.load (i32.add (local.get $src) (local.get $o))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br_if $l (i32.lt_u (local.get $o) (local.get $end)))))

  ;; e^x, fdlibm's __ieee754_exp as V8's Math.exp computes it (src/base/ieee754.cc: the same
  ;; reduction x = k·ln2 + r, the same Remez polynomial, the same operations in the same order), so
  ;; that `tree`'s leaf weights are those of the JavaScript loop bit for bit (Hamiltonian.test.ts
  ;; compares the two on many arguments)
  (func $exp (export "exp") (param $x f64) (result f64)
    (local $hx i32) (local $xsb i32) (local $k i32) (local $hi f64) (local $lo f64) (local $t f64) (local $c f64)
    (local $y f64) (local $twopk f64)
    (local.set $hx (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $x)) (i64.const 32))))
    (local.set $xsb (i32.shr_u (local.get $hx) (i32.const 31)))
    (local.set $hx (i32.and (local.get $hx) (i32.const 0x7fffffff)))
    ;; |x| ≥ 709.78…: NaN, ±∞, overflow, underflow
    (if (i32.ge_u (local.get $hx) (i32.const 0x40862e42))
      (then
        (if (i32.ge_u (local.get $hx) (i32.const 0x7ff00000))
          (then
            (if (i32.or (i32.and (local.get $hx) (i32.const 0xfffff)) (i32.wrap_i64 (i64.reinterpret_f64 (local.get $x))))
              (then (return (f64.add (local.get $x) (local.get $x)))))
            (return (select (local.get $x) (f64.const 0) (i32.eqz (local.get $xsb))))))
        (if (f64.gt (local.get $x) (f64.const 0x1.62e42fefa39efp+9)) (then (return (f64.const inf))))
        (if (f64.lt (local.get $x) (f64.const -0x1.74910d52d3051p+9)) (then (return (f64.const 0))))))
    ;; the argument reduction: r = hi − lo = x − k·ln2 with ln2 split in two (ln2HI·k exact)
    (if (i32.gt_u (local.get $hx) (i32.const 0x3fd62e42))
      (then
        (if (i32.lt_u (local.get $hx) (i32.const 0x3ff0a2b2))
          (then
            (if (f64.eq (local.get $x) (f64.const 1)) (then (return (f64.const 0x1.5bf0a8b145769p+1))))
            (local.set $hi (f64.sub (local.get $x) (select (f64.const -0x1.62e42feep-1) (f64.const 0x1.62e42feep-1) (local.get $xsb))))
            (local.set $lo (select (f64.const -0x1.a39ef35793c76p-33) (f64.const 0x1.a39ef35793c76p-33) (local.get $xsb)))
            (local.set $k (i32.sub (i32.const 1) (i32.shl (local.get $xsb) (i32.const 1)))))
          (else
            (local.set $k
              (i32.trunc_f64_s
                (f64.add (f64.mul (f64.const 0x1.71547652b82fep+0) (local.get $x)) (select (f64.const -0.5) (f64.const 0.5) (local.get $xsb)))))
            (local.set $t (f64.convert_i32_s (local.get $k)))
            (local.set $hi (f64.sub (local.get $x) (f64.mul (local.get $t) (f64.const 0x1.62e42feep-1))))
            (local.set $lo (f64.mul (local.get $t) (f64.const 0x1.a39ef35793c76p-33)))))
        (local.set $x (f64.sub (local.get $hi) (local.get $lo))))
      (else
        (if (i32.lt_u (local.get $hx) (i32.const 0x3e300000))
          (then (return (f64.add (f64.const 1) (local.get $x)))))))
    (local.set $t (f64.mul (local.get $x) (local.get $x)))
    (local.set $twopk
      (f64.reinterpret_i64
        (i64.shl
          (i64.extend_i32_u
            (i32.add (i32.const 0x3ff00000)
              (i32.shl
                (select (local.get $k) (i32.add (local.get $k) (i32.const 1000)) (i32.ge_s (local.get $k) (i32.const -1021)))
                (i32.const 20))))
          (i64.const 32))))
    (local.set $c
      (f64.sub (local.get $x)
        (f64.mul (local.get $t)
          (f64.add (f64.const 0x1.555555555553ep-3)
            (f64.mul (local.get $t)
              (f64.add (f64.const -0x1.6c16c16bebd93p-9)
                (f64.mul (local.get $t)
                  (f64.add (f64.const 0x1.1566aaf25de2cp-14)
                    (f64.mul (local.get $t)
                      (f64.add (f64.const -0x1.bbd41c5d26bf1p-20) (f64.mul (local.get $t) (f64.const 0x1.6376972bea4d0p-25))))))))))))
    (if (i32.eqz (local.get $k))
      (then
        (return
          (f64.sub (f64.const 1)
            (f64.sub (f64.div (f64.mul (local.get $x) (local.get $c)) (f64.sub (local.get $c) (f64.const 2))) (local.get $x))))))
    (local.set $y
      (f64.sub (f64.const 1)
        (f64.sub
          (f64.sub (local.get $lo) (f64.div (f64.mul (local.get $x) (local.get $c)) (f64.sub (f64.const 2) (local.get $c))))
          (local.get $hi))))
    (if (i32.ge_s (local.get $k) (i32.const -1021))
      (then
        (if (i32.eq (local.get $k) (i32.const 1024))
          (then (return (f64.mul (f64.mul (local.get $y) (f64.const 2)) (f64.const 0x1p1023)))))
        (return (f64.mul (local.get $y) (local.get $twopk)))))
    (f64.mul (f64.mul (local.get $y) (local.get $twopk)) (f64.const 0x1p-1000)))

  ;; a uniform in (0, 1) from the stream's xoroshiro128+ state at bytes 108 … 123 of the header:
  ;; two words, their top 26 and 26 bits, (hi·2²⁶ + lo + ½)·2⁻⁵², as `uniformOf` in hamiltonian.ts
  ;; (pure-rand's `uniform`); the state is written back at once, so that a density that throws
  ;; leaves the stream where the JavaScript loop would
  (func $uniform (param $hdr i32) (result f64)
    (local $s0 i64) (local $s1 i64) (local $hi i32) (local $lo i32)
    (local.set $s0 (i64.load offset=108 (local.get $hdr)))
    (local.set $s1 (i64.load offset=116 (local.get $hdr)))
    (local.set $hi (i32.shr_u (i32.wrap_i64 (i64.add (local.get $s0) (local.get $s1))) (i32.const 6)))
    (local.set $s1 (i64.xor (local.get $s1) (local.get $s0)))
    (local.set $s0 (i64.xor (i64.xor (i64.rotl (local.get $s0) (i64.const 24)) (local.get $s1)) (i64.shl (local.get $s1) (i64.const 16))))
    (local.set $s1 (i64.rotl (local.get $s1) (i64.const 37)))
    (local.set $lo (i32.shr_u (i32.wrap_i64 (i64.add (local.get $s0) (local.get $s1))) (i32.const 6)))
    (local.set $s1 (i64.xor (local.get $s1) (local.get $s0)))
    (local.set $s0 (i64.xor (i64.xor (i64.rotl (local.get $s0) (i64.const 24)) (local.get $s1)) (i64.shl (local.get $s1) (i64.const 16))))
    (local.set $s1 (i64.rotl (local.get $s1) (i64.const 37)))
    (i64.store offset=108 (local.get $hdr) (local.get $s0))
    (i64.store offset=116 (local.get $hdr) (local.get $s1))
    (f64.mul
      (f64.add
        (f64.add (f64.mul (f64.convert_i32_u (local.get $hi)) (f64.const 67108864)) (f64.convert_i32_u (local.get $lo)))
        (f64.const 0.5))
      (f64.const 0x1p-52)))

  ;; log(e^a + e^b) (`logAddExp` in hamiltonian.ts)
  (func $logAddExp (param $a f64) (param $b f64) (result f64)
    (if (f64.eq (local.get $a) (f64.const -inf)) (then (return (local.get $b))))
    (if (f64.eq (local.get $b) (f64.const -inf)) (then (return (local.get $a))))
    (if (result f64) (f64.gt (local.get $a) (local.get $b))
      (then (f64.add (local.get $a) (call $log1p (call $exp (f64.sub (local.get $b) (local.get $a))))))
      (else (f64.add (local.get $b) (call $log1p (call $exp (f64.sub (local.get $a) (local.get $b))))))))

  ;; A whole NUTS transition after its momentum (`Hamiltonian.nutsTree`'s loop over doublings and
  ;; leaves, the same decisions in the same order, its draws from the same words): the start
  ;; (`start`), then per doubling its direction, the roles of the slots, the leaves (each a call of
  ;; the imported `gradient` and of `leaf` or `right`), the leaf weights and the multinomial
  ;; proposal, the biased progressive sampling of the merge, and the criteria. Points are indices
  ;; 0 … 6 of the pool, point k's q at S[pts + 3wk], its p and g after; `cur` the chain's, the
  ;; momentum at S[p0]. Reads ε at double 6 of the header and the log densities of the points at
  ;; bytes 184 …; writes the acceptance's sum at double 7, the selected point's H at byte 128, the
  ;; leapfrog steps, the leaves and merges whose weights were rescaled, the depth and whether it
  ;; diverged at bytes 136 … 152 (int32s), the free points at 156 …; returns the selected point.
  (func (export "tree")
    (param $hdr i32) (param $n i32) (param $base i32) (param $pts i32) (param $p0 i32) (param $cur i32) (param $maxDepth i32)
    (result i32)
    (local $w i32) (local $stride i32) (local $rho i32) (local $rhoF i32) (local $rhoB i32) (local $pFB i32) (local $pBF i32)
    (local $pF i32) (local $pB i32) (local $hf i32) (local $hb i32) (local $md i32) (local $run i32) (local $discard i32)
    (local $L0 i32) (local $L1 i32) (local $propose i32) (local $fwdEnd i32) (local $bckEnd i32) (local $fwdNext i32)
    (local $bckNext i32) (local $top i32) (local $depth i32) (local $grads i32) (local $leaves i32) (local $i i32)
    (local $even i32) (local $complete i32) (local $t i32) (local $one i32) (local $sum0 i32) (local $beg0 i32) (local $end0 i32)
    (local $from i32) (local $z i32) (local $after i32) (local $bits i32) (local $valid i32) (local $divergent i32)
    (local $forward i32) (local $whole i32) (local $po i32) (local $ph i32) (local $rhoOut i32) (local $begOut i32)
    (local $old i32) (local $end i32) (local $next i32) (local $fixed i32) (local $rescaledLeaves i32) (local $rescaledMerges i32) (local $take i32) (local $replace i32) (local $k i32)
    (local $step f64) (local $eps f64) (local $H0 f64) (local $sumWeight f64) (local $sumShift f64) 
    (local $metro f64) (local $subWeight f64) (local $subShift f64) (local $h f64) (local $delta f64)
    (local $ratio f64) (local $weight f64) (local $ex f64) (local $ehx i32) (local $exsb i32) (local $ek i32) (local $ehi f64) (local $elo f64)
    (local $et f64) (local $ec f64) (local $ey f64) (local $etwopk f64) (local $us0 i64) (local $us1 i64) (local $uhi i32) (local $ulo i32) (local $total f64) (local $logSub f64) (local $logSum f64)
    (local.set $w (i32.shl (local.get $n) (i32.const 1)))
    (local.set $stride (i32.mul (local.get $w) (i32.const 3)))
    ;; the slots (`RHO` … in hamiltonian.ts)
    (local.set $rho (local.get $base))
    (local.set $rhoF (i32.add (local.get $base) (local.get $w)))
    (local.set $rhoB (i32.add (local.get $base) (i32.mul (local.get $w) (i32.const 2))))
    (local.set $pFB (i32.add (local.get $base) (i32.mul (local.get $w) (i32.const 3))))
    (local.set $pBF (i32.add (local.get $base) (i32.mul (local.get $w) (i32.const 4))))
    (local.set $pF (i32.add (local.get $base) (i32.mul (local.get $w) (i32.const 5))))
    (local.set $pB (i32.add (local.get $base) (i32.mul (local.get $w) (i32.const 6))))
    (local.set $hf (i32.add (local.get $base) (i32.mul (local.get $w) (i32.const 7))))
    (local.set $hb (i32.add (local.get $base) (i32.mul (local.get $w) (i32.const 8))))
    (local.set $md (i32.add (local.get $base) (i32.mul (local.get $w) (i32.const 9))))
    (local.set $run (i32.add (local.get $base) (i32.mul (local.get $w) (i32.const 10))))
    (local.set $discard (i32.add (local.get $base) (i32.mul (local.get $w) (i32.const 11))))
    (local.set $L0 (i32.add (local.get $base) (i32.mul (local.get $w) (i32.const 12))))
    (local.set $L1 (i32.add (local.get $L0) (local.get $stride)))
    (i32.store offset=64 (local.get $hdr) (local.get $L0))
    (i32.store offset=68 (local.get $hdr) (local.get $run))
    ;; every point but the chain's is free; the last two are the first leaf each way
    (local.set $k (i32.const 0))
    (loop $pool
      (if (i32.ne (local.get $k) (local.get $cur))
        (then
          (i32.store offset=156 (i32.add (local.get $hdr) (i32.shl (local.get $top) (i32.const 2))) (local.get $k))
          (local.set $top (i32.add (local.get $top) (i32.const 1)))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $pool (i32.lt_u (local.get $k) (i32.const 7))))
    (local.set $top (i32.sub (local.get $top) (i32.const 1)))
    (local.set $fwdNext (i32.load offset=156 (i32.add (local.get $hdr) (i32.shl (local.get $top) (i32.const 2)))))
    (local.set $top (i32.sub (local.get $top) (i32.const 1)))
    (local.set $bckNext (i32.load offset=156 (i32.add (local.get $hdr) (i32.shl (local.get $top) (i32.const 2)))))
    (local.set $propose (local.get $cur))
    (local.set $fwdEnd (local.get $cur))
    (local.set $bckEnd (local.get $cur))
    (local.set $step (f64.load offset=48 (local.get $hdr)))
    (f64.store offset=24 (local.get $hdr) (f64.mul (f64.const 0.5) (local.get $step)))
    (f64.store offset=32 (local.get $hdr) (local.get $step))
    (call $start (local.get $hdr) (local.get $p0) (local.get $rho) (local.get $pF) (local.get $pB) (local.get $md)
      (i32.add (local.get $pts) (i32.mul (local.get $cur) (local.get $stride)))
      (i32.add (i32.add (local.get $pts) (i32.mul (local.get $cur) (local.get $stride))) (i32.shl (local.get $w) (i32.const 1)))
      (local.get $hf) (i32.add (local.get $pts) (i32.mul (local.get $fwdNext) (local.get $stride)))
      (local.get $hb) (i32.add (local.get $pts) (i32.mul (local.get $bckNext) (local.get $stride)))
      (local.get $n))
    (local.set $H0
      (f64.add
        (f64.neg (f64.load offset=184 (i32.add (local.get $hdr) (i32.shl (local.get $cur) (i32.const 3)))))
        (f64.mul (f64.const 0.5) (f64.load offset=16 (local.get $hdr)))))
    (if (f64.ne (local.get $H0) (local.get $H0)) (then (local.set $H0 (f64.const inf))))
    (local.set $sumWeight (f64.const 1))
    (f64.store offset=256 (i32.add (local.get $hdr) (i32.shl (local.get $cur) (i32.const 3))) (local.get $H0))
    (block $out
      (loop $doubling
        (br_if $out (i32.ge_s (local.get $depth) (local.get $maxDepth)))
        ;; the subtree grows from one end; the old trajectory becomes the other part
        ;; (`$uniform` inline, as at the leaves: around a call every live value is spilled)
        (local.set $us0 (i64.load offset=108 (local.get $hdr)))
        (local.set $us1 (i64.load offset=116 (local.get $hdr)))
        (local.set $uhi (i32.shr_u (i32.wrap_i64 (i64.add (local.get $us0) (local.get $us1))) (i32.const 6)))
        (local.set $us1 (i64.xor (local.get $us1) (local.get $us0)))
        (local.set $us0 (i64.xor (i64.xor (i64.rotl (local.get $us0) (i64.const 24)) (local.get $us1)) (i64.shl (local.get $us1) (i64.const 16))))
        (local.set $us1 (i64.rotl (local.get $us1) (i64.const 37)))
        (local.set $ulo (i32.shr_u (i32.wrap_i64 (i64.add (local.get $us0) (local.get $us1))) (i32.const 6)))
        (local.set $us1 (i64.xor (local.get $us1) (local.get $us0)))
        (local.set $us0 (i64.xor (i64.xor (i64.rotl (local.get $us0) (i64.const 24)) (local.get $us1)) (i64.shl (local.get $us1) (i64.const 16))))
        (local.set $us1 (i64.rotl (local.get $us1) (i64.const 37)))
        (i64.store offset=108 (local.get $hdr) (local.get $us0))
        (i64.store offset=116 (local.get $hdr) (local.get $us1))
        (local.set $forward
          (f64.gt
            (f64.mul
              (f64.add
                (f64.add (f64.mul (f64.convert_i32_u (local.get $uhi)) (f64.const 67108864)) (f64.convert_i32_u (local.get $ulo)))
                (f64.const 0.5))
              (f64.const 0x1p-52))
            (f64.const 0.5)))
        ;; (selects, not a branch on the random direction: mispredicted half the time)
        (local.set $whole (local.get $rho))
        (local.set $rho (select (local.get $rhoB) (local.get $rhoF) (local.get $forward)))
        (local.set $rhoB (select (local.get $whole) (local.get $rhoB) (local.get $forward)))
        (local.set $rhoF (select (local.get $rhoF) (local.get $whole) (local.get $forward)))
        (local.set $old (local.get $pF))
        (local.set $pF (select (local.get $pBF) (local.get $pF) (local.get $forward)))
        (local.set $pBF (select (local.get $old) (local.get $pBF) (local.get $forward)))
        (local.set $old (local.get $pB))
        (local.set $pB (select (local.get $pB) (local.get $pFB) (local.get $forward)))
        (local.set $pFB (select (local.get $pFB) (local.get $old) (local.get $forward)))
        (local.set $po (select (local.get $pF) (local.get $pB) (local.get $forward)))
        (local.set $ph (select (local.get $hf) (local.get $hb) (local.get $forward)))
        (local.set $rhoOut (select (local.get $rhoF) (local.get $rhoB) (local.get $forward)))
        (local.set $begOut (select (local.get $pFB) (local.get $pBF) (local.get $forward)))
        (i32.store offset=72 (local.get $hdr) (local.get $rhoOut))
        (i32.store offset=76 (local.get $hdr) (local.get $begOut))
        (i32.store offset=80 (local.get $hdr) (local.get $rho))
        (i32.store offset=84 (local.get $hdr) (local.get $rhoF))
        (i32.store offset=88 (local.get $hdr) (local.get $rhoB))
        (i32.store offset=92 (local.get $hdr) (local.get $pF))
        (i32.store offset=96 (local.get $hdr) (local.get $pB))
        (i32.store offset=100 (local.get $hdr) (local.get $pFB))
        (i32.store offset=104 (local.get $hdr) (local.get $pBF))
        ;; (ε's sign from the direction's bit: V8 compiles an f64 select to a branch)
        (local.set $eps
          (f64.reinterpret_i64
            (i64.xor (i64.reinterpret_f64 (local.get $step))
              (i64.shl (i64.extend_i32_u (i32.eqz (local.get $forward))) (i64.const 63)))))
        (f64.store offset=24 (local.get $hdr) (f64.mul (f64.const 0.5) (local.get $eps)))
        (f64.store offset=32 (local.get $hdr) (local.get $eps))
        ;; the moving end, the next leaf from it, the other end
        (local.set $end (select (local.get $fwdEnd) (local.get $bckEnd) (local.get $forward)))
        (local.set $next (select (local.get $fwdNext) (local.get $bckNext) (local.get $forward)))
        (local.set $fixed (select (local.get $bckEnd) (local.get $fwdEnd) (local.get $forward)))
        (local.set $leaves (i32.shl (i32.const 1) (local.get $depth)))
        (local.set $one (i32.eq (local.get $leaves) (i32.const 1)))
        (local.set $subWeight (f64.const 0))
        (local.set $subShift (f64.const 0))
        (local.set $valid (i32.const 1))
        (local.set $bits (i32.const 0))
        (local.set $i (i32.const 0))
        (block $subtree
          (loop $leafLoop
            ;; where the leaf's momentum goes (as in nutsTree: t the trailing ones of i)
            (local.set $even (i32.eqz (i32.and (local.get $i) (i32.const 1))))
            (local.set $complete (i32.eq (local.get $i) (i32.sub (local.get $leaves) (i32.const 1))))
            (local.set $t (select (i32.const 0) (i32.ctz (i32.add (local.get $i) (i32.const 1))) (local.get $even)))
            (local.set $sum0
              (if (result i32) (local.get $even)
                (then (select (local.get $rhoOut) (local.get $L0) (local.get $one)))
                (else
                  (select (local.get $run) (select (local.get $rhoOut) (local.get $L1) (local.get $complete))
                    (i32.gt_u (local.get $t) (i32.const 1))))))
            (local.set $beg0
              (if (result i32) (local.get $even)
                (then (select (local.get $begOut) (local.get $discard) (local.get $one)))
                (else
                  (select (local.get $discard) (select (local.get $begOut) (i32.add (local.get $L1) (local.get $w)) (local.get $complete))
                    (i32.gt_u (local.get $t) (i32.const 1))))))
            (local.set $end0
              (select (local.get $discard) (i32.add (local.get $L1) (i32.shl (local.get $w) (i32.const 1)))
                (i32.or (i32.or (local.get $even) (i32.gt_u (local.get $t) (i32.const 1))) (local.get $complete))))
            (local.set $from (local.get $end))
            (local.set $grads (i32.add (local.get $grads) (i32.const 1)))
            (local.set $z (local.get $next))
            (call $gradient (local.get $z))
            (f64.store offset=184 (i32.add (local.get $hdr) (i32.shl (local.get $z) (i32.const 3))) (f64.load (local.get $hdr)))
            (local.set $top (i32.sub (local.get $top) (i32.const 1)))
            (local.set $after (i32.load offset=156 (i32.add (local.get $hdr) (i32.shl (local.get $top) (i32.const 2)))))
            (local.set $k (i32.add (local.get $pts) (i32.mul (local.get $z) (local.get $stride))))
            (if (local.get $even)
              (then
                (local.set $bits
                  (call $leaf (local.get $hdr) (local.get $po) (local.get $ph) (local.get $md)
                    (i32.add (local.get $k) (i32.shl (local.get $w) (i32.const 1))) (local.get $k)
                    (i32.add (local.get $pts) (i32.mul (local.get $after) (local.get $stride)))
                    (select (local.get $sum0) (local.get $discard) (local.get $one))
                    (select (local.get $beg0) (local.get $discard) (local.get $one))
                    (local.get $n) (local.get $one))))
              (else
                (local.set $bits
                  (call $right (local.get $hdr) (local.get $po) (local.get $ph) (local.get $md)
                    (i32.add (local.get $k) (i32.shl (local.get $w) (i32.const 1))) (local.get $k)
                    (i32.add (local.get $pts) (i32.mul (local.get $after) (local.get $stride)))
                    (local.get $sum0)
                    (select (local.get $L0) (local.get $beg0) (i32.gt_u (local.get $t) (i32.const 1)))
                    (local.get $end0) (local.get $n) (local.get $t) (local.get $complete)))))
            (local.set $next (local.get $after))
            (local.set $end (local.get $z))
            (local.set $h (f64.load offset=8 (local.get $hdr)))
            (f64.store offset=256 (i32.add (local.get $hdr) (i32.shl (local.get $z) (i32.const 3))) (local.get $h))
            ;; the point the end leaves is free unless something else holds it (pushed without a
            ;; branch: the stack has room for all 7, and a branch on the random choice of the
            ;; proposal, mispredicted half the time, would throw away the next leaf's work begun)
            (i32.store offset=156 (i32.add (local.get $hdr) (i32.shl (local.get $top) (i32.const 2))) (local.get $from))
            (local.set $top
              (i32.add (local.get $top)
                (i32.and
                  (i32.and (i32.ne (local.get $from) (local.get $cur)) (i32.ne (local.get $from) (local.get $propose)))
                  (i32.and (i32.ne (local.get $from) (local.get $end)) (i32.ne (local.get $from) (local.get $fixed))))))
            (local.set $delta (f64.sub (local.get $H0) (local.get $h)))
            (if (i32.eqz (f64.le (f64.neg (local.get $delta)) (f64.const 1000)))
              (then
                (local.set $divergent (i32.const 1))
                (local.set $valid (i32.const 0))
                (br $subtree)))
            ;; the leaf's weight e^{δ − shift}; the shift moves up when it would overflow
            (local.set $ratio (f64.sub (local.get $delta) (local.get $subShift)))
            (if (f64.gt (local.get $ratio) (f64.const 600))
              (then
                (local.set $rescaledLeaves (i32.add (local.get $rescaledLeaves) (i32.const 1)))
                (local.set $subWeight (f64.mul (local.get $subWeight) (call $exp (f64.neg (local.get $ratio)))))
                (local.set $subShift (local.get $delta))
                (local.set $ratio (f64.const 0))))
            ;; (`$exp` and `$uniform` inline at the leaf: V8 does not inline calls between WebAssembly
            ;; functions, and every live value is spilled around a call)
            (local.set $ex (local.get $ratio))
            (local.set $ek (i32.const 0))
            (local.set $weight
              (block $expDone (result f64)
    (local.set $ehx (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $ex)) (i64.const 32))))
    (local.set $exsb (i32.shr_u (local.get $ehx) (i32.const 31)))
    (local.set $ehx (i32.and (local.get $ehx) (i32.const 0x7fffffff)))
    ;; |x| ≥ 709.78…: NaN, ±∞, overflow, underflow
    (if (i32.ge_u (local.get $ehx) (i32.const 0x40862e42))
      (then
        (if (i32.ge_u (local.get $ehx) (i32.const 0x7ff00000))
          (then
            (if (i32.or (i32.and (local.get $ehx) (i32.const 0xfffff)) (i32.wrap_i64 (i64.reinterpret_f64 (local.get $ex))))
              (then (br $expDone (f64.add (local.get $ex) (local.get $ex)))))
            (br $expDone (select (local.get $ex) (f64.const 0) (i32.eqz (local.get $exsb))))))
        (if (f64.gt (local.get $ex) (f64.const 0x1.62e42fefa39efp+9)) (then (br $expDone (f64.const inf))))
        (if (f64.lt (local.get $ex) (f64.const -0x1.74910d52d3051p+9)) (then (br $expDone (f64.const 0))))))
    ;; the argument reduction: r = hi − lo = x − k·ln2 with ln2 split in two (ln2HI·k exact)
    (if (i32.gt_u (local.get $ehx) (i32.const 0x3fd62e42))
      (then
        (if (i32.lt_u (local.get $ehx) (i32.const 0x3ff0a2b2))
          (then
            (if (f64.eq (local.get $ex) (f64.const 1)) (then (br $expDone (f64.const 0x1.5bf0a8b145769p+1))))
            (local.set $ehi (f64.sub (local.get $ex) (select (f64.const -0x1.62e42feep-1) (f64.const 0x1.62e42feep-1) (local.get $exsb))))
            (local.set $elo (select (f64.const -0x1.a39ef35793c76p-33) (f64.const 0x1.a39ef35793c76p-33) (local.get $exsb)))
            (local.set $ek (i32.sub (i32.const 1) (i32.shl (local.get $exsb) (i32.const 1)))))
          (else
            (local.set $ek
              (i32.trunc_f64_s
                (f64.add (f64.mul (f64.const 0x1.71547652b82fep+0) (local.get $ex)) (select (f64.const -0.5) (f64.const 0.5) (local.get $exsb)))))
            (local.set $et (f64.convert_i32_s (local.get $ek)))
            (local.set $ehi (f64.sub (local.get $ex) (f64.mul (local.get $et) (f64.const 0x1.62e42feep-1))))
            (local.set $elo (f64.mul (local.get $et) (f64.const 0x1.a39ef35793c76p-33)))))
        (local.set $ex (f64.sub (local.get $ehi) (local.get $elo))))
      (else
        (if (i32.lt_u (local.get $ehx) (i32.const 0x3e300000))
          (then (br $expDone (f64.add (f64.const 1) (local.get $ex)))))))
    (local.set $et (f64.mul (local.get $ex) (local.get $ex)))
    (local.set $etwopk
      (f64.reinterpret_i64
        (i64.shl
          (i64.extend_i32_u
            (i32.add (i32.const 0x3ff00000)
              (i32.shl
                (select (local.get $ek) (i32.add (local.get $ek) (i32.const 1000)) (i32.ge_s (local.get $ek) (i32.const -1021)))
                (i32.const 20))))
          (i64.const 32))))
    (local.set $ec
      (f64.sub (local.get $ex)
        (f64.mul (local.get $et)
          (f64.add (f64.const 0x1.555555555553ep-3)
            (f64.mul (local.get $et)
              (f64.add (f64.const -0x1.6c16c16bebd93p-9)
                (f64.mul (local.get $et)
                  (f64.add (f64.const 0x1.1566aaf25de2cp-14)
                    (f64.mul (local.get $et)
                      (f64.add (f64.const -0x1.bbd41c5d26bf1p-20) (f64.mul (local.get $et) (f64.const 0x1.6376972bea4d0p-25))))))))))))
    (if (i32.eqz (local.get $ek))
      (then
        (br $expDone
          (f64.sub (f64.const 1)
            (f64.sub (f64.div (f64.mul (local.get $ex) (local.get $ec)) (f64.sub (local.get $ec) (f64.const 2))) (local.get $ex))))))
    (local.set $ey
      (f64.sub (f64.const 1)
        (f64.sub
          (f64.sub (local.get $elo) (f64.div (f64.mul (local.get $ex) (local.get $ec)) (f64.sub (f64.const 2) (local.get $ec))))
          (local.get $ehi))))
    (if (i32.ge_s (local.get $ek) (i32.const -1021))
      (then
        (if (i32.eq (local.get $ek) (i32.const 1024))
          (then (br $expDone (f64.mul (f64.mul (local.get $ey) (f64.const 2)) (f64.const 0x1p1023)))))
        (br $expDone (f64.mul (local.get $ey) (local.get $etwopk)))))
    (f64.mul (f64.mul (local.get $ey) (local.get $etwopk)) (f64.const 0x1p-1000))))
            ;; min(1, e^δ): while the shift is 0 the weight is e^δ, which is ≥ 1 exactly where δ ≥ 0
            (local.set $metro
              (f64.add (local.get $metro)
                (if (result f64) (f64.eq (local.get $ratio) (local.get $delta))
                  (then
                    ;; (as integers, a select: the weight is ≥ 0 and not NaN here, and f64.min
                    ;; compiles to branches on the comparison, random, which mispredicted wait
                    ;; for the exp's latency and throw away the next leaf's work begun)
                    (f64.reinterpret_i64
                      (select (i64.const 0x3ff0000000000000) (i64.reinterpret_f64 (local.get $weight))
                        (i64.gt_u (i64.reinterpret_f64 (local.get $weight)) (i64.const 0x3ff0000000000000)))))
                  (else
                    (if (result f64) (f64.gt (local.get $delta) (f64.const 0))
                      (then (f64.const 1))
                      (else (call $exp (local.get $delta))))))))
            (local.set $total (f64.add (local.get $subWeight) (local.get $weight)))
            (local.set $subWeight (local.get $total))
            (local.set $take (f64.ge (local.get $weight) (local.get $total)))
            (if (i32.eqz (local.get $take))
              (then
                (local.set $take
                  (f64.lt (f64.mul (block (result f64)
    (local.set $us0 (i64.load offset=108 (local.get $hdr)))
    (local.set $us1 (i64.load offset=116 (local.get $hdr)))
    (local.set $uhi (i32.shr_u (i32.wrap_i64 (i64.add (local.get $us0) (local.get $us1))) (i32.const 6)))
    (local.set $us1 (i64.xor (local.get $us1) (local.get $us0)))
    (local.set $us0 (i64.xor (i64.xor (i64.rotl (local.get $us0) (i64.const 24)) (local.get $us1)) (i64.shl (local.get $us1) (i64.const 16))))
    (local.set $us1 (i64.rotl (local.get $us1) (i64.const 37)))
    (local.set $ulo (i32.shr_u (i32.wrap_i64 (i64.add (local.get $us0) (local.get $us1))) (i32.const 6)))
    (local.set $us1 (i64.xor (local.get $us1) (local.get $us0)))
    (local.set $us0 (i64.xor (i64.xor (i64.rotl (local.get $us0) (i64.const 24)) (local.get $us1)) (i64.shl (local.get $us1) (i64.const 16))))
    (local.set $us1 (i64.rotl (local.get $us1) (i64.const 37)))
    (i64.store offset=108 (local.get $hdr) (local.get $us0))
    (i64.store offset=116 (local.get $hdr) (local.get $us1))
    (f64.mul
      (f64.add
        (f64.add (f64.mul (f64.convert_i32_u (local.get $uhi)) (f64.const 67108864)) (f64.convert_i32_u (local.get $ulo)))
        (f64.const 0.5))
      (f64.const 0x1p-52))) (local.get $total)) (local.get $weight)))))
            ;; (without a branch, as above; the proposal's H is its point's, at bytes 256 …)
            (local.set $old (local.get $propose))
            (local.set $propose (select (local.get $z) (local.get $old) (local.get $take)))
            (i32.store offset=156 (i32.add (local.get $hdr) (i32.shl (local.get $top) (i32.const 2))) (local.get $old))
            (local.set $top
              (i32.add (local.get $top)
                (i32.and
                  (i32.and (local.get $take) (i32.ne (local.get $old) (local.get $cur)))
                  (i32.and (i32.ne (local.get $old) (local.get $end)) (i32.ne (local.get $old) (local.get $fixed))))))
            (if (i32.eqz (local.get $even))
              (then
                (if (i32.ne (i32.and (local.get $bits) (i32.const 3)) (i32.const 3))
                  (then
                    (local.set $valid (i32.const 0))
                    (br $subtree)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $leafLoop (i32.lt_u (local.get $i) (local.get $leaves)))))
        (br_if $out (i32.eqz (local.get $valid)))
        (local.set $fwdEnd (select (local.get $end) (local.get $fwdEnd) (local.get $forward)))
        (local.set $fwdNext (select (local.get $next) (local.get $fwdNext) (local.get $forward)))
        (local.set $bckEnd (select (local.get $bckEnd) (local.get $end) (local.get $forward)))
        (local.set $bckNext (select (local.get $bckNext) (local.get $next) (local.get $forward)))
        (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
        ;; biased progressive sampling (Betancourt 2017, §A.3.2), in logs where the shifts differ
        (if (f64.eq (local.get $subShift) (local.get $sumShift))
          (then
            (local.set $ratio (f64.div (local.get $subWeight) (local.get $sumWeight)))
            ;; (without a branch on the random outcome: the uniform is made from the state, which
            ;; moves on only where it was needed, ratio ≤ 1, as the JavaScript loop draws it)
            (local.set $replace (f64.gt (local.get $ratio) (f64.const 1)))
            (local.set $us0 (i64.load offset=108 (local.get $hdr)))
            (local.set $us1 (i64.load offset=116 (local.get $hdr)))
            (local.set $uhi (i32.shr_u (i32.wrap_i64 (i64.add (local.get $us0) (local.get $us1))) (i32.const 6)))
            (local.set $us1 (i64.xor (local.get $us1) (local.get $us0)))
            (local.set $us0 (i64.xor (i64.xor (i64.rotl (local.get $us0) (i64.const 24)) (local.get $us1)) (i64.shl (local.get $us1) (i64.const 16))))
            (local.set $us1 (i64.rotl (local.get $us1) (i64.const 37)))
            (local.set $ulo (i32.shr_u (i32.wrap_i64 (i64.add (local.get $us0) (local.get $us1))) (i32.const 6)))
            (local.set $us1 (i64.xor (local.get $us1) (local.get $us0)))
            (local.set $us0 (i64.xor (i64.xor (i64.rotl (local.get $us0) (i64.const 24)) (local.get $us1)) (i64.shl (local.get $us1) (i64.const 16))))
            (local.set $us1 (i64.rotl (local.get $us1) (i64.const 37)))
            (i64.store offset=108 (local.get $hdr) (select (i64.load offset=108 (local.get $hdr)) (local.get $us0) (local.get $replace)))
            (i64.store offset=116 (local.get $hdr) (select (i64.load offset=116 (local.get $hdr)) (local.get $us1) (local.get $replace)))
            (local.set $replace
              (i32.or (local.get $replace)
                (f64.lt
                  (f64.mul
                    (f64.add
                      (f64.add (f64.mul (f64.convert_i32_u (local.get $uhi)) (f64.const 67108864)) (f64.convert_i32_u (local.get $ulo)))
                      (f64.const 0.5))
                    (f64.const 0x1p-52))
                  (local.get $ratio))))
            (local.set $sumWeight (f64.add (local.get $sumWeight) (local.get $subWeight))))
          (else
            (local.set $rescaledMerges (i32.add (local.get $rescaledMerges) (i32.const 1)))
            (local.set $logSub (f64.add (call $log (local.get $subWeight)) (local.get $subShift)))
            (local.set $logSum (f64.add (call $log (local.get $sumWeight)) (local.get $sumShift)))
            (local.set $replace (f64.gt (local.get $logSub) (local.get $logSum)))
            (if (i32.eqz (local.get $replace))
              (then
                (local.set $replace
                  (f64.lt (call $uniform (local.get $hdr)) (call $exp (f64.sub (local.get $logSub) (local.get $logSum)))))))
            (local.set $sumWeight (f64.const 1))
            (local.set $sumShift (call $logAddExp (local.get $logSum) (local.get $logSub)))))
        ;; (the draw replaced without a branch, its old point pushed as the leaves push theirs)
        (local.set $old (local.get $cur))
        (local.set $cur (select (local.get $propose) (local.get $old) (local.get $replace)))
        (i32.store offset=156 (i32.add (local.get $hdr) (i32.shl (local.get $top) (i32.const 2))) (local.get $old))
        (local.set $top
          (i32.add (local.get $top)
            (i32.and (local.get $replace)
              (i32.and (i32.ne (local.get $old) (local.get $fwdEnd)) (i32.ne (local.get $old) (local.get $bckEnd))))))
        (br_if $out (i32.eqz (i32.and (local.get $bits) (i32.const 4))))
        (br $doubling)))
    (f64.store offset=56 (local.get $hdr) (local.get $metro))
    (f64.store offset=128 (local.get $hdr) (f64.load offset=256 (i32.add (local.get $hdr) (i32.shl (local.get $cur) (i32.const 3)))))
    (i32.store offset=136 (local.get $hdr) (local.get $grads))
    (i32.store offset=140 (local.get $hdr) (local.get $rescaledLeaves))
    (i32.store offset=144 (local.get $hdr) (local.get $rescaledMerges))
    (i32.store offset=148 (local.get $hdr) (local.get $depth))
    (i32.store offset=152 (local.get $hdr) (local.get $divergent))
    (local.get $cur))
)