package dev.loraxj.k8s;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.quarkus.runtime.configuration.DurationConverter;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pod runs non-root on a read-only root filesystem, bounded, and shuts down without dropping requests. */
class KubernetesSecurityTest {

    static final List<String> KUSTOMIZATIONS = Manifests.KUSTOMIZATIONS;

    /** Environment variables that name a directory the server or its libraries write to. */
    static final List<String> WRITTEN_DIRS = List.of("HF_HOME", "HF_HUB_CACHE", "DJL_CACHE_DIR", "ENGINE_CACHE_DIR",
            "LORAXJ_HUB_CACHE", "LORAXJ_S3_CACHE");

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void podRunsNonRootWithoutPrivileges(String kustomization) {
        PodSpec pod = Manifests.deployment(kustomization).getSpec().getTemplate().getSpec();
        PodSecurityContext p = pod.getSecurityContext();
        assertEquals(Boolean.TRUE, p.getRunAsNonRoot());
        assertNotNull(p.getRunAsUser());
        assertNotEquals(0L, p.getRunAsUser());
        assertNotNull(p.getFsGroup(), "fsGroup, so the cache volume is writable by the user");
        assertEquals("RuntimeDefault", p.getSeccompProfile().getType());
        assertEquals(Boolean.FALSE, pod.getAutomountServiceAccountToken(), "the server never calls the API server");
        for (Container c : pod.getContainers()) {
            SecurityContext s = c.getSecurityContext();
            assertEquals(Boolean.TRUE, s.getRunAsNonRoot());
            assertEquals(Boolean.FALSE, s.getAllowPrivilegeEscalation());
            assertEquals(Boolean.TRUE, s.getReadOnlyRootFilesystem());
            assertFalse(Boolean.TRUE.equals(s.getPrivileged()));
            assertEquals(List.of("ALL"), s.getCapabilities().getDrop());
            assertTrue(s.getCapabilities().getAdd() == null || s.getCapabilities().getAdd().isEmpty());
        }
        assertEquals(Boolean.FALSE, pod.getEnableServiceLinks(), "service links would add LORAXJ_* variables for the loraxj Service");
        assertTrue(pod.getHostNetwork() == null || !pod.getHostNetwork());
        assertTrue(pod.getVolumes().stream().allMatch(v -> v.getHostPath() == null), "no hostPath volumes");
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void everyWritablePathIsAVolume(String kustomization) {
        List<HasMetadata> resources = Manifests.render(kustomization);
        Deployment d = Manifests.one(resources, Deployment.class);
        PodSpec pod = d.getSpec().getTemplate().getSpec();
        Container c = Manifests.container(d);
        Map<String, String> env = KubernetesEnvTest.environment(resources);
        Map<String, Volume> volumes = new HashMap<>();
        pod.getVolumes().forEach(v -> volumes.put(v.getName(), v));
        for (VolumeMount m : c.getVolumeMounts()) {
            Volume v = volumes.get(m.getName());
            assertNotNull(v, "mount " + m.getName() + " has a volume");
            boolean writableKind = v.getEmptyDir() != null || v.getPersistentVolumeClaim() != null || v.getEphemeral() != null;
            assertTrue(Boolean.TRUE.equals(m.getReadOnly()) || writableKind,
                    m.getMountPath() + ": configuration volumes are mounted read-only");
        }
        assertTrue(env.containsKey("DJL_CACHE_DIR"), "DJL_CACHE_DIR set: DJL unpacks its native library there");
        List<String> written = new ArrayList<>(List.of("/tmp", tmpdir(c)));
        WRITTEN_DIRS.stream().filter(env::containsKey).map(env::get).forEach(written::add);
        for (String dir : written) {
            VolumeMount m = c.getVolumeMounts().stream().filter(x -> dir.equals(x.getMountPath()) || dir.startsWith(x.getMountPath() + "/"))
                    .findFirst().orElseThrow(() -> new AssertionError(dir + " is written but is on the read-only root filesystem"));
            assertFalse(Boolean.TRUE.equals(m.getReadOnly()), dir + " is on a read-only mount");
            Volume v = volumes.get(m.getName());
            assertTrue(v.getEmptyDir() != null || v.getPersistentVolumeClaim() != null, dir + " is on an emptyDir or the claim");
        }
        assertEquals("true", env.get("DJL_OFFLINE"), "DJL never downloads a native library at run time");
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void resourcesAreRequestedAndLimited(String kustomization) {
        Container c = Manifests.container(Manifests.deployment(kustomization));
        Map<String, Quantity> requests = c.getResources().getRequests();
        Map<String, Quantity> limits = c.getResources().getLimits();
        for (String r : List.of("cpu", "memory")) {
            assertNotNull(requests.get(r), "requests." + r);
            assertNotNull(limits.get(r), "limits." + r);
            assertTrue(requests.get(r).getNumericalAmount().compareTo(limits.get(r).getNumericalAmount()) <= 0, r + ": request within limit");
        }
        String opts = env(c, "JAVA_TOOL_OPTIONS");
        assertTrue(opts.contains("-XX:MaxRAMPercentage="), "heap sized from the memory limit: " + opts);
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void shutdownDrainsInFlightRequestsWithinTheGracePeriod(String kustomization) {
        Deployment d = Manifests.deployment(kustomization);
        long grace = d.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds();
        assertTrue(grace >= 60, "terminationGracePeriodSeconds " + grace);
        Container c = Manifests.container(d);
        List<String> preStop = c.getLifecycle().getPreStop().getExec().getCommand();
        // preStop only waits for endpoints to drop the pod; it must not stop or delete anything.
        assertEquals("sleep", preStop.getFirst());
        long sleep = Long.parseLong(preStop.get(1));
        Properties app = KubernetesManifestsTest.applicationProperties();
        Duration delay = Boolean.parseBoolean(app.getProperty("quarkus.shutdown.delay-enabled"))
                ? duration(app.getProperty("quarkus.shutdown.delay", "0s")) : Duration.ZERO;
        Duration drain = duration(env(c, "QUARKUS_SHUTDOWN_TIMEOUT"));
        assertTrue(sleep + delay.toSeconds() + drain.toSeconds() < grace,
                "preStop " + sleep + " s + shutdown delay " + delay + " + drain " + drain + " fit in the grace period " + grace + " s");
        var startup = c.getStartupProbe();
        long startupBudget = (long) startup.getPeriodSeconds() * startup.getFailureThreshold();
        assertTrue(startupBudget >= 600, "startup probe allows a large model load: " + startupBudget + " s");
        assertEquals(0, d.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable().getIntVal(), "a rollout keeps serving capacity");
    }

    private static Duration duration(String text) {
        return new DurationConverter().convert(text);
    }

    private static String env(Container c, String name) {
        return c.getEnv().stream().filter(e -> e.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(name + " is not set")).getValue();
    }

    private static String tmpdir(Container c) {
        Matcher m = Pattern.compile("-Djava\\.io\\.tmpdir=(\\S+)").matcher(env(c, "JAVA_TOOL_OPTIONS"));
        return m.find() ? m.group(1) : "/tmp";
    }
}
