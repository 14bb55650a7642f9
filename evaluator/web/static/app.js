/* evaluator web: the small behaviours htmx does not give — the entry sheet's keyboard and paste, drag-and-drop
   upload with progress, confirmations. No build step, no dependencies beyond htmx. */
(function () {
  "use strict";

  /* ------------------------------------------------------------------ the entry sheet */
  function sheet(form) {
    var url = form.getAttribute("data-save");
    var saver = document.getElementById("saver");
    var state = document.getElementById("save-state");
    var pending = {};
    var timer = null;
    var inFlight = 0;
    var atFocus = new WeakMap();

    function cells(row) {
      return Array.prototype.slice.call((row || form).querySelectorAll("[data-col]")).filter(function (el) {
        return !el.disabled && el.offsetParent !== null;
      });
    }
    function rowOf(el) { return el.closest("tr[data-row]"); }
    function say(text, kind) {
      if (!state) return;
      state.textContent = text;
      state.className = "save-state " + (kind || "");
    }

    function save(fields) {
      Object.keys(fields).forEach(function (k) { pending[k] = fields[k]; });
      if (timer) clearTimeout(timer);
      timer = setTimeout(flush, 0);
    }
    function flush() {
      timer = null;
      var values = pending;
      pending = {};
      if (!Object.keys(values).length) return;
      inFlight += 1;
      say("正在保存…", "busy");
      htmx.ajax("POST", url, { source: saver, values: values, swap: "none" }).then(function () {
        inFlight -= 1;
        syncInvalid();
        if (!inFlight && !document.querySelector("#flash .flash-box")) {
          say("已保存草稿 " + new Date().toLocaleTimeString("zh-CN", { hour12: false }), "ok");
        }
      }, function () { inFlight -= 1; say("未能保存，请重试", "error"); });
    }
    /* the messages swapped in after a save: the field they belong to is marked invalid (or no longer) */
    function syncInvalid() {
      form.querySelectorAll(".msgs[id^='msg-']").forEach(function (box) {
        var field = document.getElementById("f-" + box.id.slice(4));
        if (!field) return;
        if (box.querySelector(".msg.error")) field.setAttribute("aria-invalid", "true");
        else field.removeAttribute("aria-invalid");
      });
    }
    function changed(el) { var v = {}; v[el.name] = el.value; save(v); }

    function move(el, dRow, dCol) {
      var row = rowOf(el), target = null;
      if (dCol) {
        var mine = cells(row || form);
        var at = mine.indexOf(el) + dCol;
        target = mine[at] || null;
      } else if (row) {
        var col = el.getAttribute("data-col");
        var r = row;
        while (!target) {
          r = dRow > 0 ? r.nextElementSibling : r.previousElementSibling;
          if (!r) break;
          target = r.querySelector('[data-col="' + col + '"]:not([disabled])');
        }
      } else {  // the budget figures: a column of their own
        var all = cells(el.closest(".money-grid") || form);
        target = all[all.indexOf(el) + dRow] || null;
      }
      if (target) {
        target.focus();
        if (target.select && target.tagName !== "SELECT") target.select();
      }
      return !!target;
    }
    function atStart(el) { return el.selectionStart === 0 && el.selectionEnd === 0; }
    function atEnd(el) { var n = (el.value || "").length; return el.selectionStart === n && el.selectionEnd === n; }

    form.addEventListener("focusin", function (e) {
      if (e.target.hasAttribute("data-col")) atFocus.set(e.target, e.target.value);
    });
    form.addEventListener("change", function (e) {
      if (e.target.hasAttribute("data-col")) changed(e.target);
    });
    form.addEventListener("submit", function (e) {  // Enter in a field never posts the whole form
      e.preventDefault();
    });
    form.addEventListener("keydown", function (e) {
      var el = e.target;
      if (!el.hasAttribute || !el.hasAttribute("data-col") || e.isComposing) return;
      var tag = el.tagName, key = e.key, text = tag === "TEXTAREA", select = tag === "SELECT";
      if (key === "Enter" && !e.altKey && !e.ctrlKey) {
        if (text && e.shiftKey) return;  // Shift+Enter: a new line inside the 偏差原因
        e.preventDefault();
        move(el, e.shiftKey ? -1 : 1, 0);
      } else if (key === "Escape") {
        if (atFocus.has(el) && el.value !== atFocus.get(el)) { el.value = atFocus.get(el); e.preventDefault(); }
      } else if ((key === "ArrowDown" || key === "ArrowUp") && !select && !e.altKey) {
        if (text && !(key === "ArrowDown" ? atEnd(el) : atStart(el))) return;
        if (move(el, key === "ArrowDown" ? 1 : -1, 0)) e.preventDefault();
      } else if (key === "ArrowRight" && (select || atEnd(el))) {
        if (move(el, 0, 1)) e.preventDefault();
      } else if (key === "ArrowLeft" && (select || atStart(el))) {
        if (move(el, 0, -1)) e.preventDefault();
      }
    });

    /* paste a block from Excel/WPS: rows by line, columns by tab, from the cell in focus downwards */
    function setCell(el, value) {
      if (el.tagName === "SELECT") {
        var t = value.trim(), hit = null;
        Array.prototype.forEach.call(el.options, function (o) {
          if (!hit && o.value && (o.value === t || o.text === t || (t && o.text.indexOf(t) === 0))) hit = o;
        });
        if (!hit) return false;
        el.value = hit.value;
      } else {
        el.value = value;
      }
      el.classList.add("pasted");
      setTimeout(function () { el.classList.remove("pasted"); }, 1200);
      return true;
    }
    form.addEventListener("paste", function (e) {
      var el = e.target;
      if (!el.hasAttribute || !el.hasAttribute("data-col")) return;
      var raw = (e.clipboardData || window.clipboardData).getData("text/plain");
      if (!raw || (raw.indexOf("\n") < 0 && raw.indexOf("\t") < 0)) return;  // one value: the browser pastes it
      e.preventDefault();
      var lines = raw.replace(/\r\n?/g, "\n").replace(/\n$/, "").split("\n");
      var col = el.getAttribute("data-col"), row = rowOf(el), values = {}, n = 0, skipped = 0;
      var start = el;
      lines.forEach(function (line) {
        if (!start) { skipped += 1; return; }
        var r = rowOf(start), mine = r ? cells(r) : [start], at = mine.indexOf(start);
        line.split("\t").forEach(function (part, k) {
          var target = mine[at + k];
          if (!target) return;
          if (setCell(target, part.trim())) { values[target.name] = target.value; n += 1; }
        });
        var next = null, rr = r;
        while (rr && !next) {
          rr = rr.nextElementSibling;
          if (rr) next = rr.querySelector('[data-col="' + col + '"]:not([disabled])');
        }
        start = r ? next : null;
      });
      if (n) save(values);
      say("已粘贴 " + n + " 格" + (skipped ? "（另有 " + skipped + " 行超出本表，未粘贴）" : ""), "busy");
      void row;
    });

    window.addEventListener("beforeunload", function (e) {
      if (inFlight || Object.keys(pending).length) { e.preventDefault(); e.returnValue = ""; }
    });

  }

  /* ------------------------------------------------------------------ drag and drop upload with progress */
  function dropZone(form) {
    var input = form.querySelector('input[type="file"]');
    var zone = form.querySelector(".drop-zone");
    var bar = form.querySelector("progress");
    var text = form.querySelector(".progress-text");
    var name = form.querySelector(".file-name");
    function show(files) {
      if (name) name.textContent = files && files.length ? "已选择：" + files[0].name : "尚未选择文件";
    }
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (!e.dataTransfer.files.length) return;
      input.files = e.dataTransfer.files;
      show(input.files);
      form.requestSubmit();
    });
    input.addEventListener("change", function () { show(input.files); });
    form.addEventListener("htmx:beforeRequest", function () {
      if (bar) { bar.hidden = false; bar.value = 0; }
      if (text) text.textContent = "正在上传…";
    });
    form.addEventListener("htmx:xhr:progress", function (e) {
      if (!bar || !e.detail.lengthComputable) return;
      var p = Math.round(e.detail.loaded / e.detail.total * 100);
      bar.value = p;
      if (text) text.textContent = p < 100 ? "正在上传 " + p + "%" : "已上传，正在读取表格…";
      if (p >= 100) bar.removeAttribute("value");
    });
    form.addEventListener("htmx:afterRequest", function () {
      if (bar) bar.hidden = true;
      if (text) text.textContent = "";
    });
  }

  /* ------------------------------------------------------------------ confirmations in a <dialog> */
  function confirmations(root) {
    root.querySelectorAll("[data-dialog]").forEach(function (button) {
      if (button.__dialog) return;
      button.__dialog = true;
      var dialog = document.getElementById(button.getAttribute("data-dialog"));
      if (!dialog || !dialog.showModal) return;
      button.type = "button";
      button.addEventListener("click", function () { dialog.showModal(); });
      dialog.querySelectorAll("[data-close]").forEach(function (b) {
        b.addEventListener("click", function () { dialog.close(); button.focus(); });
      });
    });
  }

  function focusFromHash() {
    if (!location.hash) return;
    var el = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (el && el.focus) {
      el.scrollIntoView({ block: "center" });
      el.focus();
      el.classList.add("target-cell");
    }
  }

  function init(root) {
    var form = root.querySelector ? root.querySelector("#entry-form[data-save]") : null;
    if (form && !form.__sheet && !form.querySelector("fieldset[disabled]")) { form.__sheet = true; sheet(form); }
    root.querySelectorAll("form.drop").forEach(function (f) { if (!f.__drop) { f.__drop = true; dropZone(f); } });
    confirmations(root);
    root.querySelectorAll("[data-print]").forEach(function (b) {
      if (!b.__print) { b.__print = true; b.addEventListener("click", function () { window.print(); }); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    focusFromHash();
    document.body.addEventListener("htmx:load", function (e) { if (e.target !== document.body) init(e.target); });
    document.body.addEventListener("htmx:beforeRequest", function () {  // a new request clears the last message
      var flash = document.getElementById("flash");
      if (flash) flash.innerHTML = "";
    });
  });
})();
