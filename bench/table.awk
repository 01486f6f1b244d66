# table.awk: bench/run.sh's results.txt -> the benchmark table (Markdown).
# Input lines are "KEY SIDE REP LINE", LINE being a program's result line
# ("word name=value ..." or, for matmul, "matmul SHAPE DTYPE MEDIAN BEST
# THREADS TARGET")
# or "!why" when the program could not run. Each cell is the median over
# the repetitions. Plain POSIX awk.

function add(k, v) { n[k]++; val[k, n[k]] = v + 0 }

# The median of the values stored under k, or "" when there are none.
function med(k,    i, j, t, a, c) {
    c = n[k] + 0
    if (c == 0) return ""
    for (i = 1; i <= c; i++) a[i] = val[k, i]
    for (i = 2; i <= c; i++)
        for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
}

# Why KEY SIDE has no figure.
function why(key, side) {
    return (key SUBSEP side) in bad ? "not measured: " bad[key, side] : "not measured: no result"
}

function secs(v) { return sprintf("%.3f s", v) }
function ms(v) { return v >= 1 ? sprintf("%.2f ms", v) : sprintf("%.0f us", v * 1000) }
function ns(v) { return v >= 1000 ? sprintf("%.2f us", v / 1000) : sprintf("%.0f ns", v) }

function row(name, ours, peer, ratio, target, met) {
    printf "| %s | %s | %s | %s | %s | %s |\n", name, ours, peer, ratio, target, met
    if (met == "yes") yes++
    if (met == "no") no++
    if (met == "n/a") na++
}

# A row whose target bounds ours/peer: time (lower is better, at most lim)
# or speed (higher is better, at least lim).
function rel_row(name, key, metric, fmt_ours, fmt_peer, lim, lower, peer_name,
                 o, p, r, os, ps) {
    o = med(key SUBSEP "ours" SUBSEP metric); p = med(key SUBSEP "peer" SUBSEP metric)
    os = o == "" ? why(key, "ours") : fmt_ours == "s" ? secs(o) : fmt_ours == "ms" ? ms(o) : \
         sprintf("%.1f GFLOP/s", o)
    ps = p == "" ? why(key, "peer") : peer_name " " (fmt_peer == "s" ? secs(p) : \
         fmt_peer == "ms" ? ms(p) : sprintf("%.1f GFLOP/s", p))
    if (o == "" || p == "" || p == 0) { row(name, os, ps, "-", target_text(lim, lower, peer_name), "n/a"); return }
    r = o / p
    row(name, os, ps, sprintf("%.2f", r), target_text(lim, lower, peer_name),
        (lower ? r <= lim : r >= lim) ? "yes" : "no")
}

function target_text(lim, lower, peer_name) {
    return sprintf("%s %.2fx %s", lower ? "<=" : ">=", lim, peer_name)
}

{
    key = $1; side = $2; $1 = $2 = $3 = ""; sub(/^ +/, "")
    if (substr($0, 1, 1) == "!") { bad[key, side] = substr($0, 2); next }
    if ($1 == "#") { if ($2 == "kernel") isa = $3; next }
    if ($1 == "vmath" && side == "ours")
        for (i = 2; i <= NF; i++) if ($i ~ /^path=/) vpath = substr($i, 6)
    if ($1 == "matmul") {   # matmul SHAPE DTYPE MEDIAN BEST THREADS TARGET
        mk = $2 " " $3 ", " $6 " thread" ($6 == 1 ? "" : "s")
        if (!(mk in seen)) { seen[mk] = 1; order[nm++] = mk }
        mtarget[mk] = $7
        add("matmul" SUBSEP side SUBSEP mk, $4)
        next
    }
    for (i = 2; i <= NF; i++)
        if (split($i, kv, "=") == 2 && kv[2] ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/)
            add(key SUBSEP side SUBSEP kv[1], kv[2])
}

END {
    print "| benchmark | ours | peer | ours/peer | target | met |"
    print "| --- | --- | --- | --- | --- | --- |"
    # the MLP epoch's targets are issue 13's: 0.35x PyTorch on 1 thread,
    # 1.8x our own speed on 2, 0.45x in f64
    rel_row("MLP 784-256-128-10, one Fashion-MNIST epoch, Adam, batch 64, f32, 1 thread",
            "mlp_f32_1", "seconds", "s", "s", 0.35, 1, "PyTorch")

    # 2 threads: the target is our own speed-up over our 1 thread
    o1 = med("mlp_f32_1" SUBSEP "ours" SUBSEP "seconds")
    o2 = med("mlp_f32_2" SUBSEP "ours" SUBSEP "seconds")
    p2 = med("mlp_f32_2" SUBSEP "peer" SUBSEP "seconds")
    name = "MLP epoch, f32, 2 threads"
    tgt = ">= 1.80x our 1-thread speed"
    ps = p2 == "" ? why("mlp_f32_2", "peer") : "PyTorch " secs(p2)
    if (o2 == "" || o1 == "") row(name, o2 == "" ? why("mlp_f32_2", "ours") : secs(o2) ", no 1-thread figure", ps, "-", tgt, "n/a")
    else row(name, secs(o2) sprintf(" (%.2fx our 1 thread)", o1 / o2), ps,
             p2 == "" ? "-" : sprintf("%.2f", o2 / p2), tgt, o1 / o2 >= 1.8 ? "yes" : "no")

    rel_row("MLP epoch, f64, 1 thread", "mlp_f64_1", "seconds", "s", "s", 0.45, 1, "PyTorch")
    rel_row("batch assembly: one shuffled Fashion-MNIST epoch of batches of 64 gathered and normalized from bytes, f32, 1 thread",
            "batch", "ms", "ms", "ms", 1.0, 1, "PyTorch")

    # wall time decides; the CPU time beside it is what a busy machine disturbs less
    o = med("conv_f32_1" SUBSEP "ours" SUBSEP "ms"); p = med("conv_f32_1" SUBSEP "peer" SUBSEP "ms")
    oc = med("conv_f32_1" SUBSEP "ours" SUBSEP "cpu_ms"); pc = med("conv_f32_1" SUBSEP "peer" SUBSEP "cpu_ms")
    row("conv2d forward+backward, the Fashion-MNIST CNN's two 3x3 convolutions, batch 128, f32, 1 thread",
        o == "" ? why("conv_f32_1", "ours") : ms(o) (oc == "" ? "" : " (CPU " ms(oc) ")"),
        p == "" ? why("conv_f32_1", "peer") : "PyTorch " ms(p) (pc == "" ? "" : " (CPU " ms(pc) ")"),
        o == "" || p == "" ? "-" : sprintf("%.2f", o / p), "<= 0.60x PyTorch",
        o == "" || p == "" ? "n/a" : o / p <= 0.6 ? "yes" : "no")

    rel_row("CNN (the main job's), one Fashion-MNIST epoch, Adam, batch 128, f32, 1 thread",
            "cnn_f32_1", "seconds", "s", "s", 0.6, 1, "PyTorch")
    o = med("cnn_f32_1" SUBSEP "ours" SUBSEP "maxrss_mb"); p = med("cnn_f32_1" SUBSEP "peer" SUBSEP "maxrss_mb")
    row("CNN epoch, peak resident memory of the process, f32, 1 thread",
        o == "" ? why("cnn_f32_1", "ours") : sprintf("%.0f MB", o),
        p == "" ? why("cnn_f32_1", "peer") : sprintf("PyTorch %.0f MB", p),
        o == "" || p == "" ? "-" : sprintf("%.2f", o / p), "<= 150 MB", o == "" ? "n/a" : o <= 150 ? "yes" : "no")

    for (i = 0; i < nm; i++)
        rel_row("matmul " order[i], "matmul", order[i], "gf", "gf", mtarget[order[i]], 0, "OpenBLAS")
    if (nm == 0) row("matmul on the MLP's shapes and square 1024/2048", why("matmul", "ours"),
                     why("matmul", "peer"), "-", ">= 0.85x OpenBLAS, 1.0x for squares", "n/a")

    # absolute targets on ours, the peer for reference
    o = med("scalar" SUBSEP "ours" SUBSEP "ns_per_op"); p = med("scalar" SUBSEP "peer" SUBSEP "ns_per_op")
    row("chain of 10,000 scalar ops, forward + backward, per op (f32)",
        o == "" ? why("scalar", "ours") : ns(o), p == "" ? why("scalar", "peer") : "PyTorch " ns(p),
        o == "" || p == "" ? "-" : sprintf("%.3f", o / p), "<= 50 ns", o == "" ? "n/a" : o <= 50 ? "yes" : "no")

    # the tape's own cost and its replay, beside ADOL-C (absolute targets on ours)
    p = med("adolc" SUBSEP "peer" SUBSEP "ns_per_op")
    row("same chain, record + reverse, per op, beside ADOL-C (f32 ours, double ADOL-C)",
        o == "" ? why("scalar", "ours") : ns(o), p == "" ? why("adolc", "peer") : "ADOL-C " ns(p),
        o == "" || p == "" ? "-" : sprintf("%.2f", o / p), "<= 15 ns", o == "" ? "n/a" : o <= 15 ? "yes" : "no")
    o = med("scalar" SUBSEP "ours" SUBSEP "replay_ns_per_op"); p = med("adolc" SUBSEP "peer" SUBSEP "replay_ns_per_op")
    row("same chain, gradient of a replayed tape (ag_plan_run; ADOL-C gradient() on its tape), per op",
        o == "" ? why("scalar", "ours") : sprintf("%.2f ns", o), p == "" ? why("adolc", "peer") : sprintf("ADOL-C %.2f ns", p),
        o == "" || p == "" ? "-" : sprintf("%.2f", o / p), "<= 4 ns", o == "" ? "n/a" : o <= 4 ? "yes" : "no")
    o = med("scalar" SUBSEP "ours" SUBSEP "grad_ratio"); p = med("adolc" SUBSEP "peer" SUBSEP "grad_ratio")
    row("extended Rosenbrock n=10,000, scalar ops, record + gradient / plain C function",
        o == "" ? why("scalar", "ours") : sprintf("%.0fx", o), p == "" ? why("adolc", "peer") : sprintf("ADOL-C %.0fx", p),
        o == "" || p == "" ? "-" : sprintf("%.2f", o / p), "<= 1.00x ADOL-C", o == "" || p == "" ? "n/a" : o <= p ? "yes" : "no")
    o = med("scalar" SUBSEP "ours" SUBSEP "replay_ratio"); p = med("adolc" SUBSEP "peer" SUBSEP "replay_ratio")
    row("same Rosenbrock, gradient of a replayed tape / plain C function",
        o == "" ? why("scalar", "ours") : sprintf("%.0fx", o), p == "" ? why("adolc", "peer") : sprintf("ADOL-C %.0fx", p),
        o == "" || p == "" ? "-" : sprintf("%.2f", o / p), "<= 1.00x ADOL-C", o == "" || p == "" ? "n/a" : o <= p ? "yes" : "no")

    o = med("rosen_vec" SUBSEP "ours" SUBSEP "us"); p = med("rosen_vec" SUBSEP "peer" SUBSEP "us")
    row("extended Rosenbrock n=10,000, vectorized with slices of one tensor, record + gradient, f64, 1 thread",
        o == "" ? why("rosen_vec", "ours") : sprintf("%.1f us", o), p == "" ? why("rosen_vec", "peer") : sprintf("PyTorch %.1f us", p),
        o == "" || p == "" ? "-" : sprintf("%.2f", o / p), "<= 1.00x PyTorch", o == "" || p == "" ? "n/a" : o <= p ? "yes" : "no")

    o = med("step1" SUBSEP "ours" SUBSEP "us_per_step"); p = med("step1" SUBSEP "peer" SUBSEP "us_per_step")
    if (o != "") o /= 1000
    if (p != "") p /= 1000
    r = o == "" || p == "" ? "" : o / p
    row("batch-1 training step on the MLP (forward, backward, Adam), f32",
        o == "" ? why("step1", "ours") : ms(o), p == "" ? why("step1", "peer") : "PyTorch " ms(p),
        r == "" ? "-" : sprintf("%.2f", r), "<= 0.20x PyTorch", r == "" ? "n/a" : r <= 0.2 ? "yes" : "no")

    # the same step (one-hot labels) replayed by a plan, beside itself recorded, same run
    o = med("step1" SUBSEP "ours" SUBSEP "replay_us_per_step"); p = med("step1" SUBSEP "ours" SUBSEP "recorded_us_per_step")
    if (o != "") o /= 1000
    if (p != "") p /= 1000
    r = o == "" || p == "" ? "" : o / p
    row("training step replayed vs recorded (batch-1 MLP step, ag_plan_run + Adam), f32",
        o == "" ? why("step1", "ours") : ms(o), p == "" ? why("step1", "ours") : "recorded " ms(p),
        r == "" ? "-" : sprintf("%.2f", r), "< 1.00x recorded", r == "" ? "n/a" : r < 1 ? "yes" : "no")

    o = med("hvp" SUBSEP "ours" SUBSEP "ratio"); p = med("hvp" SUBSEP "peer" SUBSEP "ratio")
    of = med("hvp" SUBSEP "ours" SUBSEP "fwd_bwd_ms"); oh = med("hvp" SUBSEP "ours" SUBSEP "hvp_ms")
    pf = med("hvp" SUBSEP "peer" SUBSEP "fwd_bwd_ms"); ph = med("hvp" SUBSEP "peer" SUBSEP "hvp_ms")
    row("Hessian-vector product / one forward+backward, MLP with tanh, batch 64, f32",
        o == "" ? why("hvp", "ours") : sprintf("%.2fx (%s / %s)", o, ms(oh), ms(of)),
        p == "" ? why("hvp", "peer") : sprintf("PyTorch %.2fx (%s / %s)", p, ms(ph), ms(pf)),
        o == "" || p == "" ? "-" : sprintf("%.2f", o / p), "<= 2.50x", o == "" ? "n/a" : o <= 2.5 ? "yes" : "no")

    rel_row("max-pool forward+backward, 2x2 stride 2, [128,32,28,28], f32, 1 thread",
            "maxpool", "fwd_bwd_ms", "ms", "ms", 0.6, 1, "PyTorch")
    # wall time decides; the CPU time beside it is what a busy machine disturbs less
    o = med("lstm" SUBSEP "ours" SUBSEP "ms"); p = med("lstm" SUBSEP "peer" SUBSEP "ms")
    oc = med("lstm" SUBSEP "ours" SUBSEP "cpu_ms"); pc = med("lstm" SUBSEP "peer" SUBSEP "cpu_ms")
    row("LSTM layer forward+backward, input 128, hidden 256, 32 steps, batch 32, f32, 1 thread",
        o == "" ? why("lstm", "ours") : ms(o) (oc == "" ? "" : " (CPU " ms(oc) ")"),
        p == "" ? why("lstm", "peer") : "PyTorch " ms(p) (pc == "" ? "" : " (CPU " ms(pc) ")"),
        o == "" || p == "" ? "-" : sprintf("%.2f", o / p), "<= 0.60x PyTorch",
        o == "" || p == "" ? "n/a" : o / p <= 0.6 ? "yes" : "no")
    rel_row("attention forward+backward, q, k, v [8,8,128,64], f32, 1 thread",
            "attn", "fwd_bwd_ms", "ms", "ms", 0.6, 1, "PyTorch")
    rel_row("wide MLP 784-1024-1024-10, one Fashion-MNIST epoch, Adam, batch 256, f32, 1 thread",
            "mlpwide_f32_1", "seconds", "s", "s", 0.6, 1, "PyTorch")
    rel_row("wide MLP 784-1024-1024-10, one epoch, batch 256, f32, 2 threads",
            "mlpwide_f32_2", "seconds", "s", "s", 0.5, 1, "PyTorch")
    # wall time decides; the CPU time beside it is what a busy machine disturbs less
    o = med("rnn_unrolled" SUBSEP "ours" SUBSEP "ms"); p = med("rnn_unrolled" SUBSEP "peer" SUBSEP "ms")
    oc = med("rnn_unrolled" SUBSEP "ours" SUBSEP "cpu_ms"); pc = med("rnn_unrolled" SUBSEP "peer" SUBSEP "cpu_ms")
    row("unrolled RNN, per-step ops, forward+backward, hidden 256, 32 steps, batch 32, f32, 1 thread",
        o == "" ? why("rnn_unrolled", "ours") : ms(o) (oc == "" ? "" : " (CPU " ms(oc) ")"),
        p == "" ? why("rnn_unrolled", "peer") : "PyTorch " ms(p) (pc == "" ? "" : " (CPU " ms(pc) ")"),
        o == "" || p == "" ? "-" : sprintf("%.2f", o / p), "<= 0.50x PyTorch",
        o == "" || p == "" ? "n/a" : o / p <= 0.5 ? "yes" : "no")
    split("tanh exp sigmoid log", vfn, " ")
    for (i = 1; i <= 4; i++) {
        o = med("vmath" SUBSEP "ours" SUBSEP vfn[i] "_ns"); p = med("vmath" SUBSEP "peer" SUBSEP vfn[i] "_ns")
        k = med("vmath" SUBSEP "ours" SUBSEP vfn[i] "_kernel_ns")
        row(vfn[i] " per f32 element (32k elements), op forward, 1 thread",
            o == "" ? why("vmath", "ours") : sprintf("%.3f ns", o) (k == "" ? "" : sprintf(" (kernel %.3f ns%s)", k, vpath == "" ? "" : ", " vpath)),
            p == "" ? why("vmath", "peer") : sprintf("PyTorch %.3f ns", p),
            o == "" || p == "" ? "-" : sprintf("%.2f", o / p), "<= 1.00x PyTorch",
            o == "" || p == "" ? "n/a" : o <= p ? "yes" : "no")
    }

    o = med("mlp_f32_1" SUBSEP "ours" SUBSEP "maxrss_mb"); p = med("mlp_f32_1" SUBSEP "peer" SUBSEP "maxrss_mb")
    row("peak resident memory, one epoch (the f32 1-thread run)",
        o == "" ? why("mlp_f32_1", "ours") : sprintf("%.0f MB", o),
        p == "" ? why("mlp_f32_1", "peer") : sprintf("PyTorch %.0f MB", p),
        o == "" || p == "" ? "-" : sprintf("%.2f", o / p), "<= 100 MB", o == "" ? "n/a" : o <= 100 ? "yes" : "no")

    printf "\n%d of %d rows meet their target", yes, yes + no + na
    if (na) printf " (%d not measured)", na
    printf ". Times: lower is better; GFLOP/s: higher is better.\n"
    if (isa != "") printf "Our matmul kernel: %s.\n", isa
}
