package org.serverstarter.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;

/**
 * A warm-up setting that cannot make a request stops the app at start-up, named in Boot's failure report (which
 * {@link InvalidConfigurationPropertyValueException} gets, without a stack trace), not at the first request.
 */
class WarmUpBeforeReadyTest {
    @Test
    void aSettingThatCannotMakeARequestIsReportedByName() {
        assertEquals("server-starter.warm-up.requests", refused(settings -> settings.setRequests(-1)));
        assertEquals("server-starter.warm-up.requests-per-connection",
                refused(settings -> settings.setRequestsPerConnection(0)));
        assertEquals("server-starter.warm-up.path", refused(settings -> settings.setPath("warm-up")));
        assertEquals("server-starter.warm-up.path", refused(settings -> settings.setPath("/a b")));
    }

    private interface Change {
        void apply(ServerStarterProperties.WarmUp settings);
    }

    private static String refused(Change change) {
        ServerStarterProperties.WarmUp settings = new ServerStarterProperties().getWarmUp();
        settings.setRequests(3000);
        change.apply(settings);
        return assertThrows(InvalidConfigurationPropertyValueException.class,
                () -> new WarmUpBeforeReady(settings, null)).getName();
    }
}
