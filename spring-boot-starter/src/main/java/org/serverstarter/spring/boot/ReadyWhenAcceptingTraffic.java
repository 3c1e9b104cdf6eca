package org.serverstarter.spring.boot;

import java.util.concurrent.atomic.AtomicBoolean;
import org.serverstarter.adapters.Readiness;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationListener;

/**
 * Sends {@code READY=1} when Boot declares the app ready for traffic, which it does after the runners: an app's own
 * warm-up in an {@code ApplicationRunner} is part of the start that {@code start_server --readiness=notify} waits for.
 */
final class ReadyWhenAcceptingTraffic implements ApplicationListener<AvailabilityChangeEvent<ReadinessState>> {
    private final AtomicBoolean sent;

    /** {@code deferred}: the app sends {@code READY=1} itself ({@code server-starter.defer-ready}). */
    ReadyWhenAcceptingTraffic(boolean deferred) {
        this.sent = new AtomicBoolean(deferred);
    }

    @Override
    public void onApplicationEvent(AvailabilityChangeEvent<ReadinessState> event) {
        if (event.getState() == ReadinessState.ACCEPTING_TRAFFIC && sent.compareAndSet(false, true)) {
            Readiness.notifyReady();
        }
    }
}
