package dev.loraxj.service;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

/**
 * /q/health: ready once the model is loaded and the engine runs, until shutdown starts; live unless
 * the engine died.
 */
@ApplicationScoped
public class EngineHealthChecks {

    private final ModelHost host;
    private final Draining draining;

    public EngineHealthChecks(ModelHost host, Draining draining) {
        this.host = host;
        this.draining = draining;
    }

    @Readiness
    HealthCheck ready() {
        return () -> {
            var response = HealthCheckResponse.named("model").status(host.ready() && !draining.draining())
                    .withData("model", host.configuredModelId()).withData("draining", draining.draining());
            String why = host.notReady();
            return (why == null ? response : response.withData("reason", why)).build();
        };
    }

    /** Started once the model is loaded (the startup probe allows for a long load). */
    @org.eclipse.microprofile.health.Startup
    HealthCheck started() {
        return () -> HealthCheckResponse.named("model-loaded").status(host.ready()).build();
    }

    @Liveness
    HealthCheck live() {
        return () -> HealthCheckResponse.named("engine").status(host.alive()).build();
    }
}
