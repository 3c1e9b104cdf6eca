package org.serverstarter.superdaemon.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Which cgroup lines leave a process to autogroup scheduling. */
class AutogroupTest {
    @Test
    void cgroupV1RootCpuHierarchyLeavesItToAutogroups() {
        assertNull(Autogroup.cpuControlledCgroup(List.of("4:memory:/box", "1:cpu:/", "0::/"), ""));
    }

    @Test
    void cgroupV1CpuHierarchyBelowTheRootTakesPrecedence() {
        assertEquals("/system.slice/app.service", Autogroup.cpuControlledCgroup(
                List.of("5:cpu,cpuacct:/system.slice/app.service", "0::/system.slice/app.service"), ""));
    }

    @Test
    void cgroupV2TakesPrecedenceOnlyWhereTheRootEnablesTheCpuController() {
        List<String> service = List.of("0::/system.slice/app.service");
        assertEquals("/system.slice/app.service",
                Autogroup.cpuControlledCgroup(service, "cpuset cpu io memory pids\n"));
        assertNull(Autogroup.cpuControlledCgroup(service, "memory pids\n"));
        assertNull(Autogroup.cpuControlledCgroup(List.of("0::/"), "cpuset cpu io memory pids\n"));
    }
}
