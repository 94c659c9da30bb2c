package dev.loraxj.service;

import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

/**
 * Graceful shutdown: once SIGTERM starts Quarkus's shutdown delay, readiness goes down and new
 * generation requests get 503, while requests already admitted run to completion (Quarkus then
 * waits for them up to {@code quarkus.shutdown.timeout} before the engine stops).
 */
@ApplicationScoped
public class Draining {

    private static final Logger LOG = Logger.getLogger(Draining.class);
    private volatile boolean draining;

    void onShutdownDelay(@Observes ShutdownDelayInitiatedEvent event) {
        begin();
    }

    /** Stops admission; what SIGTERM does first. */
    public void begin() {
        if (!draining) {
            draining = true;
            LOG.info("shutting down: admission stopped, readiness down, draining in-flight requests");
        }
    }

    public boolean draining() {
        return draining;
    }
}
