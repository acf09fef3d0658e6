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
(module
  (import "env" "memory" (memory 1))

  ;; a leaf with no left sibling: the second half step (p at po, also written at sum and beg), the
  ;; kinetic energy, H into double 1, and the next leaf's half step (ph) and position (nq); if it
  ;; is a subtree of `one` leaf, returns 4·(the whole trajectory's criterion), else 0
  (func (export "leaf")
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
  (func (export "right")
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
  (func (export "start")
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
      (br_if $l (i32.lt_u (local.get $o) (local.get $end))))))
