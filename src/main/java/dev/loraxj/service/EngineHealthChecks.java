package dev.loraxj.service;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

/** /q/health: ready once the model is loaded and the engine runs; live unless the engine died. */
@ApplicationScoped
public class EngineHealthChecks {

    private final ModelHost host;

    public EngineHealthChecks(ModelHost host) {
        this.host = host;
    }

    @Readiness
    HealthCheck ready() {
        return () -> HealthCheckResponse.named("model").status(host.ready()).withData("model", host.configuredModelId()).build();
    }

    @Liveness
    HealthCheck live() {
        return () -> HealthCheckResponse.named("engine").status(host.alive()).build();
    }
}
