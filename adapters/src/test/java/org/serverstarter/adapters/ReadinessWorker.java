package org.serverstarter.adapters;

import org.serverstarter.adapters.internal.Notify;

/** An app that warms up before it is ready: defers the adapters' READY=1 and reports each call's result. */
public final class ReadinessWorker {
    public static void main(String[] args) {
        Readiness.deferReady();
        boolean serving = Notify.serving();
        boolean status = Readiness.notifyStatus("warming\nup");
        boolean ready = Readiness.notifyReady();
        boolean stopping = Readiness.notifyStopping();
        System.out.println("serving=" + serving + " status=" + status + " ready=" + ready + " stopping=" + stopping);
    }
}
