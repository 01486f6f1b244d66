#!/bin/sh
# run.sh DIR [RUNS]: runs every benchmark row RUNS times (default 5), ours
# and the peer's alternately, and prints one table of medians: our figure,
# the peer's (PyTorch, or OpenBLAS for matmul), their ratio, the target and
# whether it is met. The table also goes to DIR/table.md, the raw result
# lines to DIR/results.txt. DIR holds the programs bench/bench.mk builds.
#
# The peers at their best: OPENBLAS_CORETYPE unset (a forced Haswell core
# type halves OpenBLAS on newer CPUs), OPENBLAS_NUM_THREADS, OMP_NUM_THREADS
# and torch.set_num_threads at the thread count under test. PyTorch also
# runs with OMP_WAIT_POLICY=PASSIVE (its idle OpenMP workers spinning
# against OpenBLAS's made 2 threads 10-30x slower on a busy machine) and
# with glibc told to keep freed memory (GLIBC_TUNABLES below): PyTorch
# returns large blocks to the kernel and faults them in again op after
# op, which on a VM with slow page faults made it several times slower than
# its published figures. Our library keeps its memory in the tape's arena
# and runs as built.
#
# Environment: BENCH_ROWS (keys of the rows to run, space-separated, e.g.
# "conv_f32_1"; default every row: the others' cells then say "no result"),
# BENCH_PYTHON (default /usr/bin/python3, Debian's, which sees
# python3-torch), BENCH_DATA (folder of the unpacked Fashion-MNIST files,
# default build/data/fashion-mnist; synthetic files of the same shape are
# made in DIR when they are absent), BENCH_TIMEOUT (seconds one program may run, default 150: a
# program that times out or fails once is not run again, and its cell says
# why), BENCH_BUDGET (seconds; no new repetition starts when the last one
# would end past it, default 540, so the whole run stays near 10 minutes).
set -u
dir=${1:-build/bench}
runs=${2:-5}
limit=${BENCH_TIMEOUT:-150}
budget=${BENCH_BUDGET:-540}
py=${BENCH_PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
res=$dir/results.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: > "$res"
unset OPENBLAS_CORETYPE
export PYTHONDONTWRITEBYTECODE=1
peer_env="OMP_WAIT_POLICY=PASSIVE GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296"
load0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
start=$(date +%s)

# ---------------------------------------------------------------- the peers
torch_why=""
if [ ! -x "$py" ]; then
    torch_why="no $py (apt-get install python3-torch)"
elif ! torch_ver=$("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null); then
    torch_why="PyTorch missing (apt-get install python3-torch)"
fi
blas_why=""
[ -x "$dir/openblas_matmul" ] || blas_why="OpenBLAS missing (apt-get install libopenblas-dev)"

# ---------------------------------------------------------------- the data
data=${BENCH_DATA:-build/data/fashion-mnist}
data_name="Fashion-MNIST ($data)"
if [ ! -s "$data/train-images-idx3-ubyte" ] || [ ! -s "$data/train-labels-idx1-ubyte" ]; then
    data=$dir/fmnist-synthetic
    data_name="synthetic bytes of Fashion-MNIST's shape ($data): the real data is absent"
    if [ ! -s "$data/train-labels-idx1-ubyte" ]; then
        mkdir -p "$data" && "$dir/fmnist_synth" "$data" ||
            echo "run.sh: could not write synthetic data into $data" >&2
    fi
fi

# run KEY SIDE THREADS PROGRAM ARGS...: one run; its output lines go to
# results.txt as "KEY SIDE REP line". A timeout or a failure is recorded
# as "KEY SIDE REP !why" and the pair is not run again.
run() {
    key=$1 side=$2 th=$3
    shift 3
    wanted "$key" || return 0
    grep -q "^$key $side [0-9]* !" "$res" && return
    env OPENBLAS_NUM_THREADS="$th" OMP_NUM_THREADS="$th" AG_NUM_THREADS="$th" \
        timeout "$limit" "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    if [ "$rc" = 0 ] && [ -s "$tmp/out" ]; then
        sed "s|^|$key $side $rep |" "$tmp/out" >> "$res"
    elif [ "$rc" = 124 ]; then
        echo "$key $side $rep !timed out after $limit s" >> "$res"
    else
        why=$(tail -n 1 "$tmp/err" | tr -d '|' | cut -c1-80)
        echo "$key $side $rep !failed (exit $rc): ${why:-no output}" >> "$res"
    fi
}

# wanted KEY: true when BENCH_ROWS is unset or lists KEY.
wanted() {
    [ -z "${BENCH_ROWS:-}" ] && return 0
    case " $BENCH_ROWS " in *" $1 "*) return 0 ;; esac
    return 1
}

# peer KEY THREADS SCRIPT ARGS...: the PyTorch twin, or why it cannot run.
peer() {
    key=$1 th=$2 script=$3
    shift 3
    wanted "$key" || return 0
    if [ -n "$torch_why" ]; then
        grep -q "^$key peer " "$res" || echo "$key peer 0 !$torch_why" >> "$res"
        return
    fi
    # shellcheck disable=SC2086
    run "$key" peer "$th" env $peer_env "$py" "$here/$script" "$@"
}

one_repetition() {
    run mlp_f32_1 ours 1 "$dir/bench_mlp" --dtype f32 --threads 1 --data "$data"
    peer mlp_f32_1 1 bench_mlp.py --dtype f32 --threads 1 --data "$data"
    run mlp_f32_2 ours 2 "$dir/bench_mlp" --dtype f32 --threads 2 --data "$data"
    peer mlp_f32_2 2 bench_mlp.py --dtype f32 --threads 2 --data "$data"
    run mlp_f64_1 ours 1 "$dir/bench_mlp" --dtype f64 --threads 1 --data "$data"
    peer mlp_f64_1 1 bench_mlp.py --dtype f64 --threads 1 --data "$data"
    run conv_f32_1 ours 1 "$dir/bench_conv" --threads 1
    peer conv_f32_1 1 bench_conv.py --threads 1
    run cnn_f32_1 ours 1 "$dir/bench_cnn" --threads 1 --data "$data"
    peer cnn_f32_1 1 bench_cnn.py --threads 1 --data "$data"
    # each program sets each shape's thread count (1 or 2) itself
    run matmul ours 2 "$dir/bench_matmul"
    if [ -n "$blas_why" ]; then
        grep -q "^matmul peer " "$res" || echo "matmul peer 0 !$blas_why" >> "$res"
    else
        run matmul peer 2 "$dir/openblas_matmul"
    fi
    run scalar ours 1 "$dir/bench_scalar"
    peer scalar 1 bench_scalar.py
    if [ -x "$dir/adolc_scalar" ]; then
        run adolc peer 1 "$dir/adolc_scalar"
    else
        grep -q "^adolc peer " "$res" || echo "adolc peer 0 !ADOL-C missing (apt-get install libadolc-dev)" >> "$res"
    fi
    run step1 ours 1 "$dir/bench_step1"
    peer step1 1 bench_step1.py
    run hvp ours 1 "$dir/bench_hvp" --act tanh
    peer hvp 1 bench_hvp.py --act tanh
    run maxpool ours 1 "$dir/bench_pool" --threads 1
    peer maxpool 1 bench_pool.py --threads 1
    run vmath ours 1 "$dir/bench_vmath"
    peer vmath 1 bench_vmath.py
    run lstm ours 1 "$dir/bench_lstm" --threads 1
    peer lstm 1 bench_lstm.py --threads 1
    run attn ours 1 "$dir/bench_attn" --threads 1
    peer attn 1 bench_attn.py --threads 1
    wide="--hidden 1024,1024 --batch 256"
    # shellcheck disable=SC2086
    run mlpwide_f32_1 ours 1 "$dir/bench_mlp" --threads 1 --data "$data" $wide
    # shellcheck disable=SC2086
    peer mlpwide_f32_1 1 bench_mlp.py --threads 1 --data "$data" $wide
    # shellcheck disable=SC2086
    run mlpwide_f32_2 ours 2 "$dir/bench_mlp" --threads 2 --data "$data" $wide
    # shellcheck disable=SC2086
    peer mlpwide_f32_2 2 bench_mlp.py --threads 2 --data "$data" $wide
    run rnn_unrolled ours 1 "$dir/bench_rnn_unrolled" --threads 1
    peer rnn_unrolled 1 bench_rnn_unrolled.py --threads 1
    run rosen_vec ours 1 "$dir/bench_rosen_vec"
    peer rosen_vec 1 bench_rosen_vec.py
    run batch ours 1 "$dir/bench_batch" --threads 1 --data "$data"
    peer batch 1 bench_batch.py --threads 1 --data "$data"
}

rep=1
while [ "$rep" -le "$runs" ]; do
    printf 'run.sh: repetition %d of %d ...\n' "$rep" "$runs" >&2
    one_repetition
    done_reps=$rep
    el=$(( $(date +%s) - start ))
    if [ $(( el + el / rep )) -gt "$budget" ] && [ "$rep" -lt "$runs" ]; then
        printf 'run.sh: stopping after %d repetitions (%d s; budget %d s)\n' \
            "$rep" "$el" "$budget" >&2
        break
    fi
    rep=$((rep + 1))
done
elapsed=$(( $(date +%s) - start ))
pingpong=$(timeout 30 "$dir/core_pingpong" 2>/dev/null | sed -n 's/.*round_trip_ns=//p')

# ---------------------------------------------------------------- the table
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
cores=$(nproc 2>/dev/null || echo '?')
load1=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
commit=$(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo unknown)
deb() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo unknown; }
if [ -n "$torch_why" ]; then torch_desc="PyTorch absent"
else torch_desc="PyTorch $torch_ver (Debian python3-torch $(deb python3-torch), $py)"; fi
busy=$(awk -v l="${load0%% *}" -v c="$cores" 'BEGIN { print (c > 0 && l > c / 2) ? 1 : 0 }')
{
    echo "# ag benchmarks"
    echo
    echo "- $(date '+%Y-%m-%d %H:%M %Z'); ${cpu:-unknown CPU}, $cores cores;" \
        "load average $load0 at start, $load1 at end"
    echo "- ours: commit $commit; peers: $torch_desc, OpenBLAS $(deb libopenblas0)"
    echo "- each cell: the median of $done_reps runs ($runs asked), ours and the" \
        "peer's alternating; $elapsed s in all"
    echo
    awk -f "$here/table.awk" "$res"
    echo
    echo "Notes"
    echo
    echo "- MLP: Linear 784-256, ReLU, Linear 256-128, ReLU, Linear 128-10, PyTorch's" \
        "default init, cross-entropy, Adam (lr 1e-3), shuffled batches of 64 (938" \
        "steps, 60,000 samples) normalized from bytes per batch; no BatchNorm, no" \
        "Dropout (the issue's PyTorch figures are for this plain MLP); the same on" \
        "both sides. Epoch time excludes loading the files. Data: $data_name."
    echo "- conv2d row: the two 3x3 convolutions of a Fashion-MNIST CNN at batch 128," \
        "x [128,1,28,28] -> 32 channels and x [128,32,14,14] -> 64 channels, padding 1," \
        "with bias; one iteration is both forwards, then the gradients of both outputs" \
        "for fixed random upstream gradients into the weights, biases and the second" \
        "layer's input (autograd.grad / ag_grad); the median of 21 iterations."
    echo "- CNN rows: one epoch of the main job's CNN (train_fmnist --model cnn:" \
        "per block a 3x3 convolution with padding 1, 2x2 max-pooling, BatchNorm2d," \
        "ReLU, with 32 then 64 channels; Dropout 0.3, Linear 3136-256, ReLU, Dropout," \
        "Linear 256-10), Adam lr 2e-3, shuffled batches of 128 normalized from bytes," \
        "60,000 samples, one thread, the same on both sides; peak RSS is the whole" \
        "process's (getrusage), the data's 47 MB of bytes included."
    echo "- The tanh / exp / sigmoid / log rows: the op (ag_tanh ... against torch.tanh" \
        "...) on 32,768 f32 elements, one thread, forward only, each call making its" \
        "result; ours also gives the vector math alone (ag_vtanh_f32 ...) in brackets," \
        "and the path it ran (ag_vmath.h; AG_KERNEL forces one)."
    echo "- The Hessian-vector row uses tanh instead of ReLU (a smooth function, so" \
        "the second-order pass has real work), on both sides; the batch-1 row feeds" \
        "1,550 distinct random samples, one pass, as training does."
    echo "- Max pooling: F.max_pool2d(x, 2) on x [128,32,28,28] f32 and the gradient" \
        "for a fixed dy (torch.autograd.grad / ag_grad), one thread, median of 30."
    echo "- LSTM: one layer, input 128, hidden 256, 32 steps, batch 32, f32, time-major," \
        "zero initial states; forward, then the gradients of sum(y * g) for a fixed g" \
        "into the layer's parameters (x needs none); median of 21 iterations."
    echo "- Wide MLP: the MLP above with hidden layers of 1024 and 1024 (784-1024-1024-10)," \
        "shuffled batches of 256 (235 steps, the last of 96), one whole epoch, on 1 and 2" \
        "threads (bench_mlp --hidden 1024,1024 --batch 256 and its twin)."
    echo "- Unrolled RNN: h = tanh(x_t W_ih^T + h W_hh^T + b) written as per-step ops (two" \
        "products, two adds, tanh; not the RNN layer), input 128, hidden 256, 32 steps," \
        "batch 32, f32, zero initial state; loss sum_t sum(h_t * g_t) for fixed g_t (a mul," \
        "a sum and an add per step); forward, then backward into W_ih, W_hh and b; the" \
        "same ops on both sides; median of 21 iterations, one thread."
    echo "- Vectorized Rosenbrock: bench_scalar's extended Rosenbrock function of" \
        "n = 10,000 f64 variables written with slices over one tensor x [n]" \
        "(xe = x[0::2], xo = x[1::2], d = xo - xe*xe, e = 1 - xe, sum(100 d*d + e*e))," \
        "recorded and differentiated with respect to x (ag_grad; torch.autograd.grad)," \
        "the same ops on both sides, one thread; median of 201 iterations."
    echo "- Batch assembly (issue 13's byte-to-float conversion): one shuffled epoch of" \
        "Fashion-MNIST's 60,000 training images in batches of 64, each gathered in the" \
        "epoch's order and normalized from bytes with its labels, nothing else:" \
        "ag_dataset_batch (a 256-entry table, ag_vlookup_u8_f32) against" \
        "images[idx].to(float32).div_(255).sub_(mean).div_(std) as bench_mlp.py does;" \
        "median of 7 epochs, one thread."
    echo "- MLP epoch targets: issue 13's (0.35x PyTorch on 1 thread, 1.80x our own" \
        "speed on 2 threads, 0.45x in f64)."
    echo "- Attention: scaled dot-product attention forward and the gradients of q, k" \
        "and v for a fixed dy, q, k, v [8,8,128,64] f32 (B 8, H 8, T 128, D 64), no" \
        "mask, one thread; ours is one op (ag_scaled_dot_product_attention), PyTorch's" \
        "the per-op composition softmax(q k^T / 8) v; median of 20."
    echo "- Peers: OPENBLAS_CORETYPE unset; OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and" \
        "torch.set_num_threads at the thread count under test; PyTorch with" \
        "OMP_WAIT_POLICY=PASSIVE and glibc keeping freed memory" \
        "(GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296)," \
        "its fastest setting here (see bench/run.sh). Peak memory: getrusage max RSS" \
        "of the whole process (PyTorch's includes the interpreter and its libraries)."
    if [ -n "$pingpong" ]; then
        echo "- Core-to-core round trip (bench/core_pingpong.c, CPUs 0 and 1): $pingpong ns." \
            "Cores sharing a last-level cache answer in well under 100 ns; several" \
            "hundred means they do not, so every tensor one thread writes and the other" \
            "reads crosses the chip, which caps what the 2-thread row can gain."
    fi
    if [ "$busy" = 1 ]; then
        echo "- The machine was busy (load $load0 on $cores cores when this started):" \
            "every figure is slower and noisier than on an idle machine, and the" \
            "2-thread row cannot show a real speed-up while other work holds the cores."
    fi
} > "$tmp/table"
mkdir -p "$dir"
cp "$tmp/table" "$dir/table.md"
cat "$dir/table.md"
