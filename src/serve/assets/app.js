// The web view's only script (embedded in the binary; no framework, nothing fetched from
// elsewhere). The live page keeps the run's events as they arrive over server-sent events
// and re-renders the server's view of them at most twice a second.
(function () {
  "use strict";

  // Live run page.
  var live = document.getElementById("live");
  if (live) {
    var state = (window.chaosLive = {
      ids: [], // every event id received, in order (the page's history)
      events: [],
      duplicates: 0,
      renders: 0,
      renderedUpto: -1,
      connected: false,
      finished: false,
    });
    var lastId = -1;
    var timer = null;
    var inflight = false;
    var source = new EventSource("/api/live/events");
    source.onopen = function () {
      state.connected = true;
    };
    source.onerror = function () {
      // EventSource reconnects by itself, sending Last-Event-ID: the server resumes after it.
      state.connected = false;
    };
    source.onmessage = function (message) {
      var id = Number(message.lastEventId);
      if (!(id > lastId)) {
        state.duplicates += 1;
        return;
      }
      var event = JSON.parse(message.data);
      if (event.event === "run-started" && state.ids.length > 0) {
        // The next run of a suite: a fresh page state.
        state.ids = [];
        state.events = [];
        state.finished = false;
      }
      lastId = id;
      state.ids.push(id);
      state.events.push(event);
      if (event.event === "run-finished") state.finished = true;
      schedule();
    };
    var schedule = function () {
      if (timer === null) timer = setTimeout(render, 500);
    };
    var render = function () {
      timer = null;
      if (inflight) {
        schedule();
        return;
      }
      inflight = true;
      var upto = lastId;
      fetch("/api/live/view?upto=" + upto)
        .then(function (response) {
          return response.text();
        })
        .then(function (html) {
          live.innerHTML = html;
          state.renders += 1;
          state.renderedUpto = upto;
        })
        .catch(function () {})
        .then(function () {
          inflight = false;
          if (lastId > state.renderedUpto) schedule();
        });
    };
  }

  // Reports list: filter as you type; compare needs two runs.
  var filter = document.getElementById("filter");
  var rows = document.querySelectorAll("#runs tbody tr");
  if (filter) {
    filter.addEventListener("input", function () {
      var needle = filter.value.toLowerCase();
      rows.forEach(function (row) {
        row.style.display = row.dataset.text.indexOf(needle) >= 0 ? "" : "none";
      });
    });
  }
  var compareButton = document.getElementById("compare-button");
  if (compareButton) {
    var boxes = document.querySelectorAll("#runs input[type=checkbox]");
    var update = function () {
      var checked = 0;
      boxes.forEach(function (b) {
        if (b.checked) checked += 1;
      });
      compareButton.disabled = checked < 2;
      compareButton.textContent =
        checked < 2 ? "select two runs or more to compare" : "compare " + checked + " runs";
    };
    boxes.forEach(function (b) {
      b.addEventListener("change", update);
    });
    update();
  }
})();
