package org.deepkern.backend;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;

/**
 * Backend selection, most specific first:
 * <ol>
 *   <li>per call: pass a backend to the op ({@code Ops.matmul(a, b, Backends.get("onednn"))});</li>
 *   <li>per thread: {@code try (var s = Backends.use("onednn")) { ... }};</li>
 *   <li>default: the system property {@code deepkern.backend}, else {@code native}.</li>
 * </ol>
 */
public final class Backends {
    /** The system property naming the default backend. */
    public static final String PROPERTY = "deepkern.backend";
    private static final String FALLBACK_DEFAULT = "native";

    private static final Map<String, Backend> ALL;
    private static final ThreadLocal<Backend> CURRENT = new ThreadLocal<>();

    static {
        Map<String, Backend> m = new LinkedHashMap<>();
        for (Backend b : ServiceLoader.load(Backend.class, Backends.class.getClassLoader())) m.put(b.name(), b);
        ALL = Collections.unmodifiableMap(m);
    }

    private Backends() {}

    /** Every known backend, available or not, in discovery order. */
    public static List<Backend> all() {
        return List.copyOf(ALL.values());
    }

    /** The backend called {@code name}; IllegalArgumentException listing the known ones if there is none. */
    public static Backend get(String name) {
        Objects.requireNonNull(name, "backend name");
        Backend b = ALL.get(name);
        if (b == null) throw new IllegalArgumentException("unknown backend '" + name + "'; known: " + String.join(", ", ALL.keySet()));
        return b;
    }

    /** The default backend: the system property {@value #PROPERTY}, else native. */
    public static Backend defaultBackend() {
        return get(System.getProperty(PROPERTY, FALLBACK_DEFAULT));
    }

    /** The calling thread's backend: the one set with {@link #use}, else the default. */
    public static Backend current() {
        Backend b = CURRENT.get();
        return b != null ? b : defaultBackend();
    }

    /** Makes {@code name} the calling thread's backend until the returned scope closes. */
    public static Selection use(String name) {
        return use(get(name));
    }

    /** Makes {@code backend} the calling thread's backend until the returned scope closes. */
    public static Selection use(Backend backend) {
        Objects.requireNonNull(backend, "backend");
        Selection s = new Selection(CURRENT.get());
        CURRENT.set(backend);
        return s;
    }

    /** Restores the previous per-thread backend when closed. */
    public static final class Selection implements AutoCloseable {
        private final Backend previous;
        private boolean closed;

        private Selection(Backend previous) {
            this.previous = previous;
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            if (previous == null) CURRENT.remove();
            else CURRENT.set(previous);
        }
    }
}
