package org.deepkern.bench;

import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The vendor baseline for the CUDA GEMM: cublasGemmEx on row-major C = A * B (as C^T = B^T A^T
 * in cuBLAS's column-major terms) in FP32, TF32 (CUBLAS_COMPUTE_32F_FAST_TF32) and BF16 inputs
 * with fp32 accumulation, synchronized per call like dk_matmul. From the org.bytedeco:cuda
 * presets, whose JNI libraries need a real driver (libcuda.so.1): this class is compiled only
 * with the {@code cuda-baselines} Maven profile, and its setup fails with "skipped: ..." where no
 * GPU is usable. Compare with dk_cuda_bench (ci/test-gpu.sh), which times our kernels the same way.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class CublasMatmulBench {
    @Param({"cublas"})
    public String backend;

    @Param({"fp32", "tf32", "bf16"})
    public String math;

    /** "MxNxK". */
    @Param({"4096x4096x4096"})
    public String shape;

    private cublasContext handle;
    private Pointer a, b, c;
    private final FloatPointer alpha = new FloatPointer(1.0f), beta = new FloatPointer(0.0f);
    private int m, n, k, inType, compute;

    @Setup(Level.Trial)
    public void setup() {
        try {
            int[] count = {0};
            int err = cudart.cudaGetDeviceCount(count);
            if (err != 0 || count[0] < 1) throw new IllegalStateException("cudaGetDeviceCount: error " + err);
        } catch (Throwable t) {
            throw new IllegalStateException("skipped: cuBLAS needs a GPU and its driver: " + t, t);
        }
        long[] mnk = Shapes.mnk(shape);
        m = (int) mnk[0];
        n = (int) mnk[1];
        k = (int) mnk[2];
        boolean bf16 = math.equals("bf16");
        inType = bf16 ? cudart.CUDA_R_16BF : cudart.CUDA_R_32F;
        compute = math.equals("tf32") ? cublas.CUBLAS_COMPUTE_32F_FAST_TF32 : cublas.CUBLAS_COMPUTE_32F;
        long in = bf16 ? 2 : 4;
        a = deviceZeros((long) m * k * in);
        b = deviceZeros((long) k * n * in);
        c = deviceZeros((long) m * n * 4);
        handle = new cublasContext();
        check(cublas.cublasCreate_v2(handle), "cublasCreate");
    }

    private static Pointer deviceZeros(long bytes) {
        Pointer p = new Pointer();
        check(cudart.cudaMalloc(p, bytes), "cudaMalloc");
        check(cudart.cudaMemset(p, 0, bytes), "cudaMemset");
        return p;
    }

    private static void check(int status, String what) {
        if (status != 0) throw new IllegalStateException(what + " failed with status " + status);
    }

    @Benchmark
    public int gemm() {
        // Row-major C (m x n) = A (m x k) B (k x n)  <=>  column-major C^T = B^T A^T.
        check(cublas.cublasGemmEx(handle, cublas.CUBLAS_OP_N, cublas.CUBLAS_OP_N, n, m, k, alpha, b, inType, n, a,
                inType, k, beta, c, cudart.CUDA_R_32F, n, compute, cublas.CUBLAS_GEMM_DEFAULT_TENSOR_OP), "cublasGemmEx");
        return cudart.cudaDeviceSynchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (handle != null) cublas.cublasDestroy_v2(handle);
        for (Pointer p : new Pointer[] {a, b, c})
            if (p != null) cudart.cudaFree(p);
    }
}
