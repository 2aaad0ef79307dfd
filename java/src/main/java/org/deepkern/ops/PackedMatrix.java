package org.deepkern.ops;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.backend.NativeLib;
import org.deepkern.bindings.DeepKern;
import org.deepkern.bindings.DeepKern.MatmulDesc;

import java.util.Arrays;
import java.util.Objects;

/**
 * The right-hand operand of a matmul, {@code b} ({@code [k, n]}), packed once into the layout the
 * native GEMM's microkernel reads, for weights multiplied many times (a Linear layer at batch 1 or
 * a small batch: the product is then bound by reading B, and packing it on every call would double
 * that). Multiply with {@link Ops#matmul(Tensor, PackedMatrix)} or
 * {@link Ops#gemm(Tensor, Tensor, PackedMatrix, float, float)}.
 *
 * <p>The packed copy is independent of {@code b}: later changes to {@code b} are not seen. It
 * lives in native memory until {@link #close()} (use try-with-resources); using a closed one
 * throws {@link IllegalStateException}. It is read-only, so several threads may multiply with one
 * at once, but it must not be closed while a product is running. Packing is a feature of the
 * {@code native} backend; {@link #pack(Tensor, Backend, long)} also packs for {@code onednn}
 * (oneDNN's pre-packed weights, the baseline the benchmarks compare with).
 */
public final class PackedMatrix implements AutoCloseable {
    private final long rows, columns;
    private final Backend backend;
    private Pointer handle; // dk_packed_matrix*, null once closed

    private PackedMatrix(Pointer handle, long rows, long columns, Backend backend) {
        this.handle = handle;
        this.rows = rows;
        this.columns = columns;
        this.backend = backend;
    }

    /**
     * Packs {@code b} ({@code [k, n]}: row-major, or a column-major view such as {@code w.t()} of a
     * {@code [n, k]} weight; any other layout is copied first) for the native backend.
     */
    public static PackedMatrix pack(Tensor b) {
        return pack(b, Backends.get("native"), 1);
    }

    /**
     * Packs {@code b} for {@code backend}: {@code native} (m is not used), or {@code onednn}, which
     * reorders b once into the weight layout oneDNN's matmul chooses for products with {@code m}
     * rows ("oneDNN with pre-packed weights"; products with another m run only where oneDNN has a
     * kernel for that layout, and alpha != 1 only without a bias). Other backends throw
     * {@link UnsupportedOperationException}.
     */
    public static PackedMatrix pack(Tensor b, Backend backend, long m) {
        Objects.requireNonNull(b, "b");
        Objects.requireNonNull(backend, "backend");
        b.requireOpen("b");
        if (m < 1) throw new IllegalArgumentException("m must be >= 1, got " + m);
        if (b.rank() != 2)
            throw new IllegalArgumentException("b must be a matrix (rank 2), got shape " + Arrays.toString(b.shape()));
        int code = switch (backend.name()) {
            case "native" -> DeepKern.DK_BACKEND_NATIVE;
            case "onednn" -> DeepKern.DK_BACKEND_ONEDNN;
            default -> throw new UnsupportedOperationException(
                    "backend " + backend.name() + " cannot pack b: packing is a feature of the native and onednn backends");
        };
        if (!b.device().equals(backend.device()))
            throw new IllegalArgumentException("b is on " + b.device() + " but packing runs on " + backend.device());
        backend.requireAvailable();
        long k = b.size(0), n = b.size(1);
        // The layout of b, read by the matmul shape function against a 1 x k row.
        try (TensorScope scope = TensorScope.open()) {
            MatmulSpec s = MatmulSpec.of(backend, Tensor.empty(1, n), Tensor.empty(1, k), b, 1, 0);
            Tensor src = s.bNeedsCopy() ? b.contiguousCopy() : b;
            long ldb = s.bNeedsCopy() ? Math.max(1, n) : s.ldb();
            boolean tb = !s.bNeedsCopy() && s.transB();
            try (PointerPointer<Pointer> out = new PointerPointer<>(1)) {
                NativeLib.check(DeepKern.dk_matmul_pack_b(code, out, m, k, n, tb ? 1 : 0, src.pointer(), ldb,
                        src.storageRemaining()));
                return new PackedMatrix(out.get(0), k, n, backend);
            }
        }
    }

    /** The backend this matrix was packed for (and whose kernels multiply with it). */
    public Backend backend() {
        return backend;
    }

    /** k: the rows of the packed b. */
    public long rows() {
        return rows;
    }

    /** n: the columns of the packed b. */
    public long columns() {
        return columns;
    }

    public synchronized boolean isClosed() {
        return handle == null;
    }

    /** Frees the packed copy. Idempotent. */
    @Override
    public synchronized void close() {
        if (handle == null) return;
        DeepKern.dk_packed_matrix_free(handle);
        handle = null;
    }

    /** c = alpha * a @ this + beta * c, on this matrix's backend; a [m, k], c [m, n] row-major. */
    void multiply(Tensor c, Tensor a, float alpha, float beta) {
        multiply(c, a, null, Epilogue.NONE, alpha, beta);
    }

    /** c = act(alpha * a @ this + beta * c + bias), on this matrix's backend; bias [n] or null. */
    void multiply(Tensor c, Tensor a, Tensor bias, Epilogue act, float alpha, float beta) {
        Objects.requireNonNull(act, "act");
        MatmulSpec s = MatmulSpec.ofPackedB(backend, c, a, rows, columns, alpha, beta);
        if (bias != null) {
            bias.requireOpen("bias");
            if (bias.rank() != 1 || bias.size(0) != columns)
                throw new IllegalArgumentException("bias must be [n] = [" + columns + "], got shape " + Arrays.toString(bias.shape()));
            if (!bias.device().equals(backend.device()))
                throw new IllegalArgumentException("bias is on " + bias.device() + " but the product runs on " + backend.device());
        }
        Pointer h;
        synchronized (this) {
            if (handle == null) throw new IllegalStateException("the packed matrix is closed");
            h = handle;
        }
        try (TensorScope scope = TensorScope.open()) {
            Tensor bc = bias == null || bias.isContiguous() ? bias : bias.contiguousCopy();
            if (s.aNeedsCopy()) {
                run(s.withCopiedOperands(), c, a.contiguousCopy(), h, bc, act);
                return;
            }
            run(s, c, a, h, bc, act);
        }
    }

    private static void run(MatmulSpec s, Tensor c, Tensor a, Pointer b, Tensor bias, Epilogue act) {
        try (MatmulDesc d = new MatmulDesc().m(s.m()).n(s.n()).k(s.k()).transA(s.transA() ? 1 : 0).lda(s.lda())
                .ldb(s.ldb()).ldc(s.ldc()).alpha(s.alpha()).beta(s.beta())) {
            NativeLib.check(DeepKern.dk_matmul_packed_b_fused(d, c.pointer(), c.storageRemaining(), a.pointer(),
                    a.storageRemaining(), b, bias == null ? null : bias.pointer(), bias == null ? 0 : bias.storageRemaining(),
                    act.code()));
        }
    }

    @Override
    public String toString() {
        return "PackedMatrix[" + rows + ", " + columns + "]" + (isClosed() ? " (closed)" : "");
    }
}
