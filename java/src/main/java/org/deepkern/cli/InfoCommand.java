package org.deepkern.cli;

import org.deepkern.Library;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.backend.NativeLib;
import picocli.CommandLine.Command;

import java.io.PrintStream;

/** {@code deepkern info}: version, CPU features, backends and the thread count. */
@Command(name = "info", description = "Print the version, CPU features, backends and thread count.")
final class InfoCommand implements Runnable {
    @Override
    public void run() {
        PrintStream out = System.out;
        out.println("deepkern " + Library.version());
        String problem = NativeLib.loadProblem();
        if (problem != null) {
            out.println("native library: not loaded: " + problem);
        } else {
            out.println("native library: " + Library.nativeVersion());
            out.println("cpu features: " + Library.cpuFeatures());
            out.println("cpu kernels: " + Library.cpuIsa());
            out.println("threads: " + Library.threads());
        }
        out.println("default backend: " + Backends.defaultBackend().name());
        out.println("backends:");
        for (Backend b : Backends.all())
            out.printf("  %-7s %-5s %s%n", b.name() + ":", b.device(), b.availability().describe());
    }
}
