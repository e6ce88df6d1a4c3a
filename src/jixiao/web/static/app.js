// jixiao 收集情况页面：上传（选择文件或拖入页面）、按状态筛选、长时间操作的进度。不依赖任何外部脚本。
"use strict";

(function () {
  const HEADERS = { "X-Jixiao": "1", "Accept": "application/json" };

  function $(selector, root) { return (root || document).querySelector(selector); }

  // --- 按状态筛选 ----------------------------------------------------------------------------
  let wanted = new URLSearchParams(location.search).get("status") || "";

  function applyFilter() {
    document.querySelectorAll("table.units tbody tr").forEach(function (tr) {
      tr.hidden = Boolean(wanted) && tr.dataset.status !== wanted;
    });
    document.querySelectorAll(".counts .count").forEach(function (a) {
      a.classList.toggle("active", a.dataset.filter === wanted);
    });
  }

  document.addEventListener("click", function (event) {
    const link = event.target.closest(".counts .count");
    if (!link) return;
    event.preventDefault();
    wanted = link.dataset.filter === wanted ? "" : link.dataset.filter;
    history.replaceState(null, "", wanted ? "/?status=" + encodeURIComponent(wanted) : "/");
    applyFilter();
  });

  function showStatus(html) {
    const box = $("#status");
    if (box) { box.innerHTML = html; applyFilter(); }
  }

  // --- 上传 ----------------------------------------------------------------------------------
  const form = $("#upload-form");
  const results = $("#upload-results");
  const drop = $("#upload");
  let queue = Promise.resolve();

  function say(text, kind) {
    const li = document.createElement("li");
    li.textContent = text;
    if (kind) li.className = kind;
    results.prepend(li);
    return li;
  }

  // 一次请求上传一批文件（最多 BATCH_FILES 个、合计不超过 BATCH_BYTES）：服务器每批只扫描一次收件箱。
  const BATCH_FILES = 20, BATCH_BYTES = 32 * 1024 * 1024;

  function batches(files) {
    const out = [];
    let current = [], size = 0;
    files.forEach(function (file) {
      if (current.length && (current.length >= BATCH_FILES || size + file.size > BATCH_BYTES)) {
        out.push(current); current = []; size = 0;
      }
      current.push(file); size += file.size;
    });
    if (current.length) out.push(current);
    return out;
  }

  function uploadBatch(files) {
    const lines = files.map(function (file) { return say("正在上传并校验“" + file.name + "”…", "busy"); });
    const body = new FormData();
    files.forEach(function (file) { body.append("file", file, file.name); });
    return fetch("/upload", { method: "POST", body: body, headers: HEADERS, credentials: "same-origin" })
      .then(function (response) {
        return response.json().catch(function () { return { error: "服务器没有回应（" + response.status + "）：请重试" }; });
      })
      .then(function (answer) {
        if (answer.error) {
          lines.forEach(function (li, i) { li.textContent = "“" + files[i].name + "”：" + answer.error; li.className = "bad"; });
          return;
        }
        answer.results.forEach(function (r, i) {
          const li = lines[i];
          li.textContent = r.message;
          li.className = !r.ok ? "bad" : r.status === "通过" ? "ok" : r.status === "有错误" ? "bad" : "warn";
        });
        showStatus(answer.html);
      })
      .catch(function () {
        lines.forEach(function (li, i) {
          li.textContent = "“" + files[i].name + "”没有上传：与 jixiao 的连接中断，请确认 jixiao serve 仍在运行后重试";
          li.className = "bad";
        });
      });
  }

  function uploadAll(files) {
    batches(Array.from(files)).forEach(function (batch) {
      queue = queue.then(function () { return uploadBatch(batch); });
    });
    return queue;
  }

  if (form) {
    const input = $("#file-input");
    const submit = $("#upload-submit");
    if (submit) submit.hidden = true;          // 有脚本时选择文件后自动上传
    input.addEventListener("change", function () {
      uploadAll(input.files).then(function () { input.value = ""; });
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); uploadAll(input.files); });

    // 拖到页面的任何地方都可以；拖入时整页提示。
    ["dragenter", "dragover"].forEach(function (name) {
      document.addEventListener(name, function (event) {
        if (!event.dataTransfer || Array.from(event.dataTransfer.types || []).indexOf("Files") < 0) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "copy";
        drop.classList.add("over");
      });
    });
    document.addEventListener("dragleave", function (event) {
      if (event.target === document.documentElement || event.target === document.body) drop.classList.remove("over");
    });
    document.addEventListener("drop", function (event) {
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      event.preventDefault();
      drop.classList.remove("over");
      uploadAll(event.dataTransfer.files);
    });
  }

  // --- 长时间的操作（汇总、生成模板）：进度 --------------------------------------------------
  const job = $("#job");
  if (job && job.dataset.state === "running") {
    const fill = $("#job-fill"), count = $("#job-count"), stage = $("#job-stage");
    const poll = function () {
      fetch("/api/jobs/" + job.dataset.job, { headers: HEADERS, credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (state) {
          if (state.error) { stage.textContent = state.error; return; }
          if (state.state === "running") {
            const done = Math.min(state.done, state.total);
            const share = state.total ? Math.round(100 * done / state.total) : 0;
            fill.style.width = share + "%";
            if (state.total && done >= state.total && state.kind === "merge") {
              stage.textContent = "正在写入汇总表并逐分核对…";
            } else if (state.stage) {
              stage.textContent = state.stage;
            }
            count.textContent = state.total ? "已完成 " + done + " / " + state.total + "（" + state.seconds + " 秒）" : "";
            setTimeout(poll, 300);
            return;
          }
          if (state.state === "done" && state.download) {
            location.replace("/jobs/" + state.id + "?download=1");     // 结果页：显示汇总行并开始下载
            return;
          }
          location.reload();
        })
        .catch(function () {
          stage.textContent = "与 jixiao 的连接中断：请确认 jixiao serve 仍在运行后刷新本页";
        });
    };
    poll();
  }
  const ready = $("#job-download");
  if (ready && new URLSearchParams(location.search).get("download") === "1") {
    history.replaceState(null, "", location.pathname);
    ready.click();
  }
})();
