package org.serverstarter.adapters;

/** An app that warms up before it is ready: defers the adapters' READY=1 and reports each call's result. */
public final class ReadinessWorker {
    public static void main(String[] args) {
        Readiness.deferReady();
        boolean serving = Readiness.notifyServing();
        boolean status = Readiness.notifyStatus("warming\nup");
        boolean ready = Readiness.notifyReady();
        boolean stopping = Readiness.notifyStopping();
        System.out.println("serving=" + serving + " status=" + status + " ready=" + ready + " stopping=" + stopping);
    }
}
