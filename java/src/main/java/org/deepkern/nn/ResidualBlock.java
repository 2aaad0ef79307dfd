package org.deepkern.nn;

import org.deepkern.Tensor;

/**
 * The basic block of ResNet: y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), with 3x3
 * convolutions (the first with the block's stride) and, when the stride or the channel count
 * changes, a 1x1 convolution + batch norm as the shortcut. Input [N, in, H, W] -> output
 * [N, out, (H - 1) / stride + 1, (W - 1) / stride + 1].
 */
public final class ResidualBlock extends Module {
    private final Conv2d conv1, conv2, projection;
    private final BatchNorm bn1, bn2, projectionBn;
    private final long in, out;
    private final int stride;

    public ResidualBlock(long in, long out, int stride, long seed) {
        this.in = in;
        this.out = out;
        this.stride = stride;
        conv1 = addChild("conv1", Conv2d.builder().in(in).out(out).kernel(3).stride(stride).padding(1).bias(false).seed(seed).build());
        bn1 = addChild("bn1", BatchNorm.batchNorm2d(out));
        conv2 = addChild("conv2", Conv2d.builder().in(out).out(out).kernel(3).padding(1).bias(false).seed(seed + 1).build());
        bn2 = addChild("bn2", BatchNorm.batchNorm2d(out));
        if (stride != 1 || in != out) {
            projection = addChild("shortcut", Conv2d.builder().in(in).out(out).kernel(1).stride(stride).bias(false).seed(seed + 2).build());
            projectionBn = addChild("shortcut_bn", BatchNorm.batchNorm2d(out));
        } else {
            projection = null;
            projectionBn = null;
        }
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor h = Functional.relu(bn1.forward(conv1.forward(x)));
        h = bn2.forward(conv2.forward(h));
        Tensor skip = projection == null ? x : projectionBn.forward(projection.forward(x));
        return Functional.relu(Functional.add(h, skip));
    }

    @Override
    protected String describe() {
        return "ResidualBlock(" + in + " -> " + out + ", stride " + stride + ")";
    }
}
