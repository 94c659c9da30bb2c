package dev.loraxj.k8s;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The overlays render (with the test's Kustomize) to a GPU and a CPU Deployment that differ where they should. */
class KubernetesOverlaysTest {

    static final String GPU = "nvidia.com/gpu";

    @Test
    void gpuOverlayRequestsOneGpuOnGpuNodes() {
        Deployment d = Manifests.deployment("overlays/gpu");
        Container c = Manifests.container(d);
        assertEquals(new Quantity("1"), c.getResources().getLimits().get(GPU), "limits");
        assertEquals(new Quantity("1"), c.getResources().getRequests().get(GPU), "requests (extended resources: equal to limits)");
        PodSpec pod = d.getSpec().getTemplate().getSpec();
        assertEquals("true", pod.getNodeSelector().get("nvidia.com/gpu.present"));
        Toleration t = pod.getTolerations().stream().filter(x -> GPU.equals(x.getKey())).findFirst()
                .orElseThrow(() -> new AssertionError("no toleration for the " + GPU + " taint"));
        assertEquals("NoSchedule", t.getEffect());
        assertEquals("Exists", t.getOperator());
        assertEquals("gpu", d.getSpec().getTemplate().getMetadata().getLabels().get("loraxj.dev/accelerator"));
    }

    @Test
    void gpuPatchKeepsEverythingTheBaseContainerHas() {
        Container base = Manifests.container(Manifests.deployment("base"));
        Container gpu = Manifests.container(Manifests.deployment("overlays/gpu"));
        assertEquals(base.getImage(), gpu.getImage());
        assertEquals(base.getCommand(), gpu.getCommand());
        assertEquals(base.getReadinessProbe(), gpu.getReadinessProbe());
        assertEquals(base.getVolumeMounts(), gpu.getVolumeMounts());
        assertTrue(gpu.getEnv().containsAll(base.getEnv()), "env merged by name, not replaced");
        assertEquals(base.getEnv().size() + 2, gpu.getEnv().size());
    }

    @Test
    void gpuOverlayRunsOnTheCudaBackendAndTheCpuOverlayDoesNot() {
        Container gpu = Manifests.container(Manifests.deployment("overlays/gpu"));
        assertEquals("cuda", gpu.getEnv().stream().filter(e -> e.getName().equals("LORAXJ_DEVICE")).findFirst()
                .orElseThrow(() -> new AssertionError("gpu overlay sets LORAXJ_DEVICE")).getValue());
        Container cpu = Manifests.container(Manifests.deployment("overlays/cpu"));
        assertTrue(cpu.getEnv().stream().noneMatch(e -> e.getName().equals("LORAXJ_DEVICE") && "cuda".equals(e.getValue())));
    }

    @Test
    void cpuOverlayRequestsNoGpuAndSizesThreadsToItsCpuLimit() {
        Deployment d = Manifests.deployment("overlays/cpu");
        Container c = Manifests.container(d);
        assertFalse(c.getResources().getLimits().containsKey(GPU));
        assertFalse(c.getResources().getRequests().containsKey(GPU));
        PodSpec pod = d.getSpec().getTemplate().getSpec();
        assertTrue(pod.getNodeSelector() == null || !pod.getNodeSelector().containsKey("nvidia.com/gpu.present"));
        assertTrue(pod.getTolerations() == null || pod.getTolerations().stream().noneMatch(t -> GPU.equals(t.getKey())));
        var threads = c.getEnv().stream().filter(e -> e.getName().equals("LORAXJ_THREADS")).findFirst()
                .orElseThrow(() -> new AssertionError("cpu overlay sets LORAXJ_THREADS"));
        assertEquals("limits.cpu", threads.getValueFrom().getResourceFieldRef().getResource());
        assertEquals(c.getResources().getRequests().get("cpu"), c.getResources().getLimits().get("cpu"), "Guaranteed CPU: requests = limits");
        assertTrue(c.getResources().getLimits().get("cpu").getNumericalAmount().intValue() >= 2, "more than one core for the compute pool");
    }

    @Test
    void baseNamesNoAccelerator() {
        Deployment d = Manifests.deployment("base");
        assertFalse(Manifests.container(d).getResources().getLimits().containsKey(GPU));
        var selector = d.getSpec().getTemplate().getSpec().getNodeSelector();
        assertTrue(selector == null || selector.isEmpty(), "node selector " + selector);
    }

    @Test
    void strategicMergeMergesKeyedListsAndReplacesTheRest() {
        JsonNode target = json("""
                {"spec":{"nodeSelector":{"a":"1"},"tolerations":[{"key":"x"}],
                 "containers":[{"name":"c","image":"i","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},{"name":"side"}]}}""");
        JsonNode patch = json("""
                {"spec":{"nodeSelector":{"b":"2"},"tolerations":[{"key":"y"}],
                 "containers":[{"name":"c","env":[{"name":"B","value":"3"},{"name":"C","value":"4"}]}]}}""");
        JsonNode out = StrategicMerge.apply(target, patch);
        assertEquals(json("""
                {"spec":{"nodeSelector":{"a":"1","b":"2"},"tolerations":[{"key":"y"}],
                 "containers":[{"name":"c","image":"i","env":[{"name":"A","value":"1"},{"name":"B","value":"3"},{"name":"C","value":"4"}]},
                               {"name":"side"}]}}"""), out);
        assertEquals(json("{\"a\":1}"), StrategicMerge.apply(json("{\"a\":1,\"b\":2}"), json("{\"b\":null}")), "null deletes");
        assertThrows(IllegalArgumentException.class, () -> StrategicMerge.apply(json("{\"ports\":[1]}"), json("{\"ports\":[2]}")),
                "a list without a rule here fails instead of guessing");
    }

    @Test
    void rendererRefusesKustomizeFieldsItDoesNotImplement() throws Exception {
        var dir = java.nio.file.Files.createTempDirectory("kustomize");
        java.nio.file.Files.writeString(dir.resolve("kustomization.yaml"), """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                namePrefix: dev-
                resources: []
                """);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Kustomize.render(dir));
        assertTrue(e.getMessage().contains("namePrefix"), e.getMessage());
    }

    private static JsonNode json(String s) {
        return Kustomize.YAML.readTree(s);
    }
}
