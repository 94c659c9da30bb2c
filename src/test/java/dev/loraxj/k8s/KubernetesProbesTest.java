package dev.loraxj.k8s;

import dev.loraxj.api.TestClient;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the Deployment asks of the server (probe paths, the scrape path, the HPA's metric) is served by it. */
@QuarkusTest
class KubernetesProbesTest {

    static final String QUEUE_METRIC = "loraxj_queue_size";
    static final String METRICS_PATH = "/metrics";

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    @Test
    void everyProbePathOfTheDeploymentAnswers200OnceReady() {
        Container c = Manifests.container(Manifests.deployment("base"));
        List<Probe> probes = List.of(c.getStartupProbe(), c.getReadinessProbe(), c.getLivenessProbe());
        assertEquals(List.of("/q/health/started", "/q/health/ready", "/q/health/live"),
                probes.stream().map(p -> p.getHttpGet().getPath()).toList());
        for (Probe p : probes) {
            TestClient.Reply r = client.get(p.getHttpGet().getPath());
            assertEquals(200, r.status(), p.getHttpGet().getPath() + ": " + r.body());
            assertEquals("UP", r.json().path("status").asText(), p.getHttpGet().getPath());
        }
    }

    @Test
    void scrapePathServesTheAutoscalersMetric() {
        Deployment d = Manifests.deployment("base");
        String path = d.getSpec().getTemplate().getMetadata().getAnnotations().get("prometheus.io/path");
        TestClient.Reply r = client.get(path);
        assertEquals(200, r.status(), path);
        assertTrue(r.body().lines().anyMatch(l -> l.startsWith(QUEUE_METRIC + " ") || l.startsWith(QUEUE_METRIC + "{")),
                path + " serves " + QUEUE_METRIC);
        client.metric(QUEUE_METRIC);
    }
}
