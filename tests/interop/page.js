// rtcengine interop harness: the browser-side WebRTC peer.
//
// Python (tests/interop/browser.py) drives it through one entry point,
// window.rtc.call(method, args), which never throws: it resolves to
// {ok: value} or {error: name, message} so a DOMException's name
// (InvalidStateError, OperationError ...) reaches the test intact.
//
// One RTCPeerConnection at a time; createPc() replaces the previous one.
// Every data channel, local or announced by the remote peer, is kept by label
// with a receive queue and a "mode" saying what its onmessage does:
//   queue  keep messages for nextMessage()        (default)
//   echo   send every message straight back
//   sink   copy bytes into one buffer, SHA-256 at the end (bulk transfers)
//   count  count messages and bytes only (message-rate runs)
// Binary crosses the DevTools Protocol as base64; bulk data never does.
"use strict";

(() => {
  const HIGH_WATER = 4 * 1024 * 1024;  // pause sending above this bufferedAmount
  const LOW_WATER = 1024 * 1024;       // resume at bufferedamountlow

  let pc = null;
  let channels = new Map();            // label -> ChannelState
  let channelWaiters = [];             // resolve() on every new channel
  let candidates = [];                 // trickle: RTCIceCandidateInit, null = end
  let candidateWaiters = [];
  let stateWaiters = [];               // resolve() on any state change of pc

  class TimeoutError extends Error {
    constructor(message) { super(message); this.name = "TimeoutError"; }
  }

  // Resolve when check() returns a value other than undefined; the waiter
  // list is poked on every relevant event, so no polling.
  function waitFor(list, check, timeoutMs, what) {
    const first = check();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = list.indexOf(poke);
        if (i >= 0) list.splice(i, 1);
        reject(new TimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      function poke() {
        let value;
        try { value = check(); } catch (e) { clearTimeout(timer); reject(e); return true; }
        if (value === undefined) return false;
        clearTimeout(timer);
        resolve(value);
        return true;
      }
      list.push(poke);
    });
  }

  function notify(list) {
    for (const poke of list.splice(0)) {
      if (!poke()) list.push(poke);
    }
  }

  function toBase64(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  }

  function fromBase64(text) {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function encodeMessage(data) {
    if (typeof data === "string") return { kind: "text", data };
    return { kind: "binary", data: toBase64(new Uint8Array(data)) };
  }

  function decodeMessage(message) {
    return message.kind === "text" ? message.data : fromBase64(message.data);
  }

  function requirePc() {
    if (pc === null) throw new Error("no RTCPeerConnection: call createPc first");
    return pc;
  }

  function requireChannel(label) {
    const state = channels.get(label);
    if (state === undefined) throw new Error(`no data channel labelled ${JSON.stringify(label)}`);
    return state;
  }

  function channelInfo(ch) {
    return {
      label: ch.label, id: ch.id, ordered: ch.ordered, protocol: ch.protocol,
      negotiated: ch.negotiated, maxRetransmits: ch.maxRetransmits,
      maxPacketLifeTime: ch.maxPacketLifeTime, readyState: ch.readyState,
      bufferedAmount: ch.bufferedAmount,
    };
  }

  function addChannel(ch) {
    ch.binaryType = "arraybuffer";
    const state = {
      channel: ch, mode: "queue", queue: [], waiters: [],
      sink: null, counter: null, error: null,
    };
    ch.onmessage = (event) => onMessage(state, event.data);
    ch.onopen = ch.onclose = () => notify(state.waiters);
    ch.onerror = (event) => {
      state.error = event.error ? `${event.error.name}: ${event.error.message}` : "error";
      notify(state.waiters);
    };
    channels.set(ch.label, state);
    notify(channelWaiters);
    return state;
  }

  function onMessage(state, data) {
    switch (state.mode) {
      case "echo":
        state.channel.send(data);
        break;
      case "sink": {
        const sink = state.sink;
        const bytes = typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data);
        if (sink.received === 0) sink.start = performance.now();
        if (sink.received + bytes.length > sink.buffer.length) {
          sink.error = `sink overflow: ${sink.received + bytes.length} > ${sink.buffer.length} bytes`;
        } else {
          sink.buffer.set(bytes, sink.received);
        }
        sink.received += bytes.length;
        sink.messages += 1;
        sink.end = performance.now();
        notify(state.waiters);
        break;
      }
      case "count": {
        const counter = state.counter;
        if (counter.messages === 0) counter.start = performance.now();
        counter.messages += 1;
        counter.bytes += typeof data === "string" ? data.length : data.byteLength;
        counter.end = performance.now();
        if (counter.messages >= counter.notifyAt) notify(state.waiters);
        break;
      }
      default:
        state.queue.push(encodeMessage(data));
        notify(state.waiters);
    }
  }

  async function waitDrained(ch) {
    if (ch.bufferedAmount <= HIGH_WATER) return;
    ch.bufferedAmountLowThreshold = LOW_WATER;
    await new Promise((resolve, reject) => {
      ch.addEventListener("bufferedamountlow", resolve, { once: true });
      ch.addEventListener("close", () => reject(new Error(`channel ${ch.label} closed while sending`)), { once: true });
    });
  }

  const methods = {
    createPc(config) {
      if (pc !== null) pc.close();
      for (const state of channels.values()) notify(state.waiters);
      channels = new Map();
      candidates = [];
      pc = new RTCPeerConnection(config);
      pc.onicecandidate = (event) => {
        candidates.push(event.candidate ? event.candidate.toJSON() : null);
        notify(candidateWaiters);
      };
      pc.ondatachannel = (event) => addChannel(event.channel);
      pc.onconnectionstatechange = pc.onsignalingstatechange =
        pc.onicegatheringstatechange = pc.oniceconnectionstatechange = () => notify(stateWaiters);
      return null;
    },

    createDataChannel(label, options) {
      return channelInfo(addChannel(requirePc().createDataChannel(label, options || {})).channel);
    },

    async createOffer(options) {
      const p = requirePc();
      await p.setLocalDescription(await p.createOffer(options || {}));
      return p.localDescription.sdp;
    },

    async createAnswer() {
      const p = requirePc();
      await p.setLocalDescription(await p.createAnswer());
      return p.localDescription.sdp;
    },

    async setRemoteDescription(type, sdp) {
      await requirePc().setRemoteDescription({ type, sdp });
      return null;
    },

    async addIceCandidate(candidate) {
      await requirePc().addIceCandidate(candidate === null ? undefined : candidate);
      return null;
    },

    async waitIceGatheringComplete(timeoutMs) {
      const p = requirePc();
      return waitFor(stateWaiters, () => (p.iceGatheringState === "complete" ? p.localDescription.sdp : undefined),
        timeoutMs, "ICE gathering to complete");
    },

    localDescription() {
      const d = requirePc().localDescription;
      return d === null ? null : { type: d.type, sdp: d.sdp };
    },

    // Trickle: the next candidate the page gathered, null at end-of-candidates.
    nextCandidate(timeoutMs) {
      return waitFor(candidateWaiters, () => (candidates.length ? { candidate: candidates.shift() } : undefined),
        timeoutMs, "a local ICE candidate");
    },

    states() {
      const p = requirePc();
      return {
        connectionState: p.connectionState, iceConnectionState: p.iceConnectionState,
        iceGatheringState: p.iceGatheringState, signalingState: p.signalingState,
      };
    },

    waitConnectionState(wanted, timeoutMs) {
      const p = requirePc();
      return waitFor(stateWaiters, () => {
        if (wanted.includes(p.connectionState)) return p.connectionState;
        if (p.connectionState === "failed" || p.connectionState === "closed") {
          throw new Error(`connectionState is ${p.connectionState}, wanted ${wanted.join(" or ")}`);
        }
        return undefined;
      }, timeoutMs, `connectionState ${wanted.join(" or ")}`);
    },

    async getStats() {
      const report = await requirePc().getStats();
      return Array.from(report.values());
    },

    closePc() {
      if (pc !== null) pc.close();
      notify(stateWaiters);
      for (const state of channels.values()) notify(state.waiters);
      return null;
    },

    channelInfo(label) {
      return channelInfo(requireChannel(label).channel);
    },

    waitChannelState(label, wanted, timeoutMs) {
      return waitFor(channelWaiters, () => (channels.has(label) ? true : undefined), timeoutMs,
        `data channel ${JSON.stringify(label)} to appear`).then(() => {
        const state = requireChannel(label);
        return waitFor(state.waiters, () => {
          const now = state.channel.readyState;
          if (now === wanted) return now;
          if (now === "closed") throw new Error(`channel ${label} closed (${state.error || "no error"}), wanted ${wanted}`);
          return undefined;
        }, timeoutMs, `data channel ${JSON.stringify(label)} to be ${wanted}`);
      });
    },

    closeChannel(label) {
      requireChannel(label).channel.close();
      return null;
    },

    send(label, message) {
      requireChannel(label).channel.send(decodeMessage(message));
      return null;
    },

    nextMessage(label, timeoutMs) {
      const state = requireChannel(label);
      return waitFor(state.waiters, () => {
        if (state.queue.length) return state.queue.shift();
        if (state.channel.readyState === "closed") throw new Error(`channel ${label} closed`);
        return undefined;
      }, timeoutMs, `a message on ${JSON.stringify(label)}`);
    },

    // Up to `count` messages, waiting at most timeoutMs in all; fewer is not an error.
    async nextMessages(label, count, timeoutMs) {
      const state = requireChannel(label);
      const deadline = performance.now() + timeoutMs;
      const got = [];
      while (got.length < count) {
        if (state.queue.length) { got.push(state.queue.shift()); continue; }
        const left = deadline - performance.now();
        if (left <= 0 || state.channel.readyState === "closed") break;
        try {
          await waitFor(state.waiters, () => (state.queue.length || state.channel.readyState === "closed" ? true : undefined),
            left, "messages");
        } catch (e) {
          if (e.name !== "TimeoutError") throw e;
          break;
        }
      }
      return got;
    },

    sendMany(label, messages) {
      const ch = requireChannel(label).channel;
      for (const m of messages) ch.send(decodeMessage(m));
      return null;
    },

    pendingMessages(label) {
      return requireChannel(label).queue.length;
    },

    setMode(label, mode) {
      const state = requireChannel(label);
      // Queued messages arrived before the switch; an echo peer answers them too.
      if (mode === "echo") for (const m of state.queue.splice(0)) state.channel.send(decodeMessage(m));
      state.mode = mode;
      return null;
    },

    // Bulk, browser -> remote: random bytes, hashed here, sent in chunks under flow control.
    async sendBulk(label, nbytes, chunkSize) {
      const ch = requireChannel(label).channel;
      const data = new Uint8Array(nbytes);
      for (let off = 0; off < nbytes; off += 65536) {
        crypto.getRandomValues(data.subarray(off, Math.min(off + 65536, nbytes)));
      }
      const sha256 = hex(await crypto.subtle.digest("SHA-256", data));
      const start = performance.now();
      let messages = 0;
      for (let off = 0; off < nbytes; off += chunkSize) {
        await waitDrained(ch);
        ch.send(data.subarray(off, Math.min(off + chunkSize, nbytes)));
        messages += 1;
      }
      return { sha256, nbytes, messages, seconds: (performance.now() - start) / 1000 };
    },

    // Bulk, remote -> browser: arm a sink of nbytes, then bulkResult() waits and hashes.
    expectBulk(label, nbytes) {
      const state = requireChannel(label);
      state.sink = { buffer: new Uint8Array(nbytes), received: 0, messages: 0, start: 0, end: 0, error: null };
      state.mode = "sink";
      return null;
    },

    async bulkResult(label, timeoutMs) {
      const state = requireChannel(label);
      const sink = state.sink;
      if (sink === null) throw new Error(`no bulk sink armed on ${label}: call expectBulk first`);
      await waitFor(state.waiters, () => {
        if (sink.error) throw new Error(sink.error);
        if (sink.received >= sink.buffer.length) return true;
        if (state.channel.readyState === "closed") {
          throw new Error(`channel ${label} closed after ${sink.received} of ${sink.buffer.length} bytes`);
        }
        return undefined;
      }, timeoutMs, `${sink.buffer.length} bytes on ${JSON.stringify(label)} (have ${sink.received})`);
      state.mode = "queue";
      state.sink = null;
      return {
        sha256: hex(await crypto.subtle.digest("SHA-256", sink.buffer)),
        nbytes: sink.received, messages: sink.messages, seconds: (sink.end - sink.start) / 1000,
      };
    },

    // Message rate, browser -> remote: count messages of size bytes, as fast as flow control allows.
    async sendBurst(label, count, size, text) {
      const ch = requireChannel(label).channel;
      const payload = text ? "x".repeat(size) : new Uint8Array(size);
      const start = performance.now();
      for (let i = 0; i < count; i++) {
        if (ch.bufferedAmount > HIGH_WATER) await waitDrained(ch);
        ch.send(payload);
      }
      return (performance.now() - start) / 1000;
    },

    // Message rate, remote -> browser: count what arrives; counted() waits for `expected`.
    startCounting(label) {
      const state = requireChannel(label);
      state.counter = { messages: 0, bytes: 0, start: 0, end: 0, notifyAt: Infinity };
      state.mode = "count";
      return null;
    },

    async counted(label, expected, timeoutMs) {
      const state = requireChannel(label);
      const counter = state.counter;
      if (counter === null) throw new Error(`not counting on ${label}: call startCounting first`);
      counter.notifyAt = expected;
      try {
        await waitFor(state.waiters, () => (counter.messages >= expected ? true : undefined),
          timeoutMs, `${expected} messages on ${JSON.stringify(label)}`);
      } catch (e) {
        if (e.name !== "TimeoutError") throw e;  // a short count is a result, not an error
      }
      return { messages: counter.messages, nbytes: counter.bytes, seconds: (counter.end - counter.start) / 1000 };
    },
  };

  window.rtc = {
    async call(method, args) {
      try {
        const fn = methods[method];
        if (fn === undefined) throw new TypeError(`page has no method ${method}`);
        return { ok: await fn(...args) };
      } catch (e) {
        return { error: (e && e.name) || "Error", message: String((e && e.message) || e) };
      }
    },
  };
})();
