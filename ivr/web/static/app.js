// Supervisor console: live queue (server-sent events), waiting-time counters, waveform playhead.
"use strict";

function fmtWait(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return s + "秒";
  if (s < 3600) return Math.floor(s / 60) + "分" + String(s % 60).padStart(2, "0") + "秒";
  return Math.floor(s / 3600) + "小时" + Math.floor((s % 3600) / 60) + "分";
}

function tickWaits() {
  const now = Date.now();
  document.querySelectorAll("[data-since]").forEach((el) => {
    el.textContent = fmtWait((now - Date.parse(el.dataset.since)) / 1000);
  });
}

function liveQueue() {
  const badge = document.getElementById("live");
  if (!badge || !window.EventSource) return;
  const open = document.getElementById("queue-open");
  const done = document.getElementById("queue-resolved");
  const count = document.getElementById("open-count");
  const label = badge.querySelector("span");
  const es = new EventSource(badge.dataset.stream);
  es.onopen = () => { badge.className = "live on"; label.textContent = "实时更新"; };
  es.onerror = () => { badge.className = "live off"; label.textContent = "连接中断，正在重连…"; };
  es.addEventListener("queue", (ev) => {
    const data = JSON.parse(ev.data);
    const before = new Set([...open.querySelectorAll("tr[data-id]")].map((tr) => tr.dataset.id));
    open.innerHTML = data.html;
    done.innerHTML = data.resolved_html;
    count.textContent = data.open;
    open.querySelectorAll("tr[data-id]").forEach((tr) => { if (!before.has(tr.dataset.id)) tr.classList.add("new"); });
    document.title = (data.waiting ? "(" + data.waiting + ") " : "") + "转人工队列 · 智能催收语音坐席台";
    tickWaits();
  });
}

function waveform() {
  const audio = document.getElementById("audio");
  const box = document.getElementById("wave");
  if (!audio || !box) return;
  const bar = document.getElementById("wave-progress");
  const draw = () => { if (audio.duration) bar.style.width = (100 * audio.currentTime / audio.duration) + "%"; };
  audio.addEventListener("timeupdate", draw);
  audio.addEventListener("seeked", draw);
  box.addEventListener("click", (ev) => {
    if (!audio.duration) return;
    const r = box.getBoundingClientRect();
    audio.currentTime = audio.duration * (ev.clientX - r.left) / r.width;
    audio.play();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  liveQueue();
  waveform();
  tickWaits();
  setInterval(tickWaits, 1000);
});
