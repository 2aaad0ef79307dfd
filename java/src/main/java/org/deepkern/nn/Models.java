package org.deepkern.nn;

/**
 * The networks the command line trains on 28x28 grey images (Fashion-MNIST): input [N, 1, 28, 28],
 * output logits [N, 10]. Every layer's initializer is seeded from {@code seed}.
 */
public final class Models {
    private Models() {}

    /** The names {@link #create} accepts. */
    public static final java.util.List<String> NAMES = java.util.List.of("cnn", "mlp", "resnet");

    public static Module create(String name, long seed) {
        return switch (name) {
            case "cnn" -> cnn(seed);
            case "mlp" -> mlp(seed);
            case "resnet" -> resnet(seed);
            default -> throw new IllegalArgumentException("unknown model '" + name + "'; known: " + String.join(", ", NAMES));
        };
    }

    /**
     * The default CNN: two conv 3x3 (32 and 64 channels, padding 1) + batch norm + ReLU + 2x2 max
     * pooling, then 3136 -> 128 (ReLU, dropout 0.25) -> 10. About 420k parameters, 8.5 MFLOP per
     * image forward.
     */
    public static Sequential cnn(long seed) {
        return Sequential.of(
                Conv2d.builder().in(1).out(32).kernel(3).padding(1).seed(seed + 1).build(),   // [N, 32, 28, 28]
                BatchNorm.batchNorm2d(32), Activations.relu(), new MaxPool2d(2),               // [N, 32, 14, 14]
                Conv2d.builder().in(32).out(64).kernel(3).padding(1).seed(seed + 2).build(),  // [N, 64, 14, 14]
                BatchNorm.batchNorm2d(64), Activations.relu(), new MaxPool2d(2),               // [N, 64, 7, 7]
                new Flatten(),                                                                 // [N, 3136]
                Linear.builder().in(64 * 7 * 7).out(128).seed(seed + 3).build(), Activations.relu(),
                new Dropout(0.25f, seed + 4),
                Linear.builder().in(128).out(10).init(Initializer.xavierUniform()).seed(seed + 5).build()); // [N, 10]
    }

    /** A multilayer perceptron: 784 -> 512 -> 256 -> 10 with ReLU and dropout 0.2. */
    public static Sequential mlp(long seed) {
        return Sequential.of(
                new Flatten(),                                                                 // [N, 784]
                Linear.builder().in(784).out(512).seed(seed + 1).build(), Activations.relu(), new Dropout(0.2f, seed + 2),
                Linear.builder().in(512).out(256).seed(seed + 3).build(), Activations.relu(), new Dropout(0.2f, seed + 4),
                Linear.builder().in(256).out(10).init(Initializer.xavierUniform()).seed(seed + 5).build());
    }

    /**
     * A small ResNet: conv 3x3 (16) + batch norm + ReLU, residual blocks 16 (28x28), 32 (stride 2,
     * 14x14), 64 (stride 2, 7x7), global average pooling, 64 -> 10. About 20 MFLOP per image
     * forward, 2.3x the CNN.
     */
    public static Sequential resnet(long seed) {
        return Sequential.of(
                Conv2d.builder().in(1).out(16).kernel(3).padding(1).bias(false).seed(seed + 1).build(),
                BatchNorm.batchNorm2d(16), Activations.relu(),                                  // [N, 16, 28, 28]
                new ResidualBlock(16, 16, 1, seed + 10),                                        // [N, 16, 28, 28]
                new ResidualBlock(16, 32, 2, seed + 20),                                        // [N, 32, 14, 14]
                new ResidualBlock(32, 64, 2, seed + 30),                                        // [N, 64, 7, 7]
                new AvgPool2d(7), new Flatten(),                                                // [N, 64]
                Linear.builder().in(64).out(10).init(Initializer.xavierUniform()).seed(seed + 40).build());
    }
}
