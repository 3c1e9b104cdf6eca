package org.serverstarter.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SleepParameterTest {

    @Test
    void boundsTheSleep() {
        assertEquals(250, SleepParameter.millis("250"));
        assertEquals(0, SleepParameter.millis("-5"));
        assertEquals(SleepParameter.MAX_MILLIS, SleepParameter.millis("999999999"));
        assertEquals(1000, SleepParameter.millis(null));
    }

    @Test
    void rejectsNonNumbers() {
        assertThrows(IllegalArgumentException.class, () -> SleepParameter.millis("1s"));
    }
}
