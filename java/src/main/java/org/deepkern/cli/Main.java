package org.deepkern.cli;

import org.deepkern.Library;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar deepkern.jar <command>}: the command line. */
@Command(name = "deepkern", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Deep-learning compute on the JVM.",
        subcommands = {InfoCommand.class, CompareCommand.class, TrainCommand.class, EvalCommand.class, BenchCommand.class, PlotCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (for tests). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("error: " + e.getMessage());
            return 1;
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"deepkern " + Library.version()};
        }
    }
}
