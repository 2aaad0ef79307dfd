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
 * {@code native} backend.
 */
public final class PackedMatrix implements AutoCloseable {
    private final long rows, columns;
    private Pointer handle; // dk_packed_matrix*, null once closed

    private PackedMatrix(Pointer handle, long rows, long columns) {
        this.handle = handle;
        this.rows = rows;
        this.columns = columns;
    }

    /**
     * Packs {@code b} ({@code [k, n]}: row-major, or a column-major view such as {@code w.t()} of a
     * {@code [n, k]} weight; any other layout is copied first).
     */
    public static PackedMatrix pack(Tensor b) {
        Objects.requireNonNull(b, "b");
        b.requireOpen("b");
        if (b.rank() != 2)
            throw new IllegalArgumentException("b must be a matrix (rank 2), got shape " + Arrays.toString(b.shape()));
        Backend nat = Backends.get("native");
        if (!b.device().equals(nat.device()))
            throw new IllegalArgumentException("b is on " + b.device() + " but packing runs on " + nat.device());
        nat.requireAvailable();
        long k = b.size(0), n = b.size(1);
        // The layout of b, read by the matmul shape function against a 1 x k row.
        try (TensorScope scope = TensorScope.open()) {
            MatmulSpec s = MatmulSpec.of(nat, Tensor.empty(1, n), Tensor.empty(1, k), b, 1, 0);
            Tensor src = s.bNeedsCopy() ? b.contiguousCopy() : b;
            long ldb = s.bNeedsCopy() ? Math.max(1, n) : s.ldb();
            boolean tb = !s.bNeedsCopy() && s.transB();
            try (PointerPointer<Pointer> out = new PointerPointer<>(1)) {
                NativeLib.check(DeepKern.dk_sgemm_pack_b(out, k, n, tb ? 1 : 0, src.pointer(), ldb, src.storageRemaining()));
                return new PackedMatrix(out.get(0), k, n);
            }
        }
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

    /** c = alpha * a @ this + beta * c, on the native backend; a [m, k], c [m, n] row-major. */
    void multiply(Tensor c, Tensor a, float alpha, float beta) {
        Backend nat = Backends.get("native");
        MatmulSpec s = MatmulSpec.ofPackedB(nat, c, a, rows, columns, alpha, beta);
        Pointer h;
        synchronized (this) {
            if (handle == null) throw new IllegalStateException("the packed matrix is closed");
            h = handle;
        }
        if (s.aNeedsCopy()) {
            try (TensorScope scope = TensorScope.open()) {
                MatmulSpec copied = s.withCopiedOperands();
                run(copied, c, a.contiguousCopy(), h);
            }
            return;
        }
        run(s, c, a, h);
    }

    private static void run(MatmulSpec s, Tensor c, Tensor a, Pointer b) {
        try (MatmulDesc d = new MatmulDesc().m(s.m()).n(s.n()).k(s.k()).transA(s.transA() ? 1 : 0).lda(s.lda())
                .ldb(s.ldb()).ldc(s.ldc()).alpha(s.alpha()).beta(s.beta())) {
            NativeLib.check(DeepKern.dk_matmul_packed_b(d, c.pointer(), c.storageRemaining(), a.pointer(),
                    a.storageRemaining(), b));
        }
    }

    @Override
    public String toString() {
        return "PackedMatrix[" + rows + ", " + columns + "]" + (isClosed() ? " (closed)" : "");
    }
}
