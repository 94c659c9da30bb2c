package dev.loraxj.service;

import dev.loraxj.config.LoraxjConfig;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.util.function.IntSupplier;

/**
 * Graceful shutdown: on SIGTERM readiness goes down and new generation requests get 503, while
 * requests already admitted run to completion. The drain lasts up to {@code loraxj.shutdown-delay}
 * while requests are in flight and ends when none is (Quarkus's own delay is a fixed sleep, so it is
 * 0); Quarkus then waits for what is left up to {@code quarkus.shutdown.timeout} before the engine stops.
 */
@ApplicationScoped
public class Draining {

    private static final Logger LOG = Logger.getLogger(Draining.class);
    private final Duration delay;
    private volatile boolean draining;
    private volatile IntSupplier inFlight = () -> 0;

    @jakarta.inject.Inject
    public Draining(LoraxjConfig config) {
        this(config.shutdownDelay());
    }

    Draining(Duration delay) {
        this.delay = delay;
    }

    /** Runs on Quarkus's shutdown thread, before it stops accepting connections. */
    void onShutdownDelay(@Observes ShutdownDelayInitiatedEvent event) {
        begin();
        awaitIdle(delay);
    }

    /** Who admits requests says how many are in flight. */
    void track(IntSupplier inFlight) {
        this.inFlight = inFlight;
    }

    /** Stops admission; what SIGTERM does first. */
    public void begin() {
        if (!draining) {
            draining = true;
            LOG.infof("shutting down: admission stopped, readiness down, draining %d in-flight requests", inFlight.getAsInt());
        }
    }

    /** Waits until no request is in flight, or {@code limit} has passed; returns whether none is. */
    boolean awaitIdle(Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (inFlight.getAsInt() > 0) {
            if (System.nanoTime() >= deadline) {
                return false;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    public boolean draining() {
        return draining;
    }
}
