package org.serverstarter.adapters.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.serverstarter.adapters.ServerStarter;
import org.serverstarter.adapters.StarterException;

class ContractTest {
    @Test
    void anEmptyPortVariableLeavesAServerNothingToServe() {
        ServerStarter none = ServerStarter.fromEnvironment(Map.of("SERVER_STARTER_PORT", ";"));
        StarterException e = assertThrows(StarterException.class, () -> Contract.socketsToServe(none));
        assertEquals("SERVER_STARTER_PORT is set but names no socket: start_server was given no --port and no --path",
                e.getMessage());
    }
}
