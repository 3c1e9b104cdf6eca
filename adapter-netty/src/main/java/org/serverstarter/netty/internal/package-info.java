/**
 * What adapter-netty shares with adapter-reactor-netty and adapter-grpc, which serve Reactor Netty and grpc-netty on
 * the same Netty channels: adopting an inherited fd as a server channel (epoll or NIO), answering the framework's bind
 * on it, the HTTP/1.x drain handler and the HTTP/2 connections' two-step GOAWAY.
 * Public only so that those modules can call it, in no public signature, and free to change in any release, like
 * {@code org.serverstarter.adapters.internal}.
 */
package org.serverstarter.netty.internal;
