/**
 * What adapter-netty shares with adapter-reactor-netty, which serves Reactor Netty on the same Netty channels: adopting
 * an inherited fd as a server channel (epoll or NIO) and the HTTP/1.x drain handler. Public only so that module can
 * call it, in no public signature, and free to change in any release, like {@code org.serverstarter.adapters.internal}.
 */
package org.serverstarter.netty.internal;
