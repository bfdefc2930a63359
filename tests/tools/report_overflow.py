# tests/tools/report_overflow.py REPORT.html OUT.html: a page holding the report twice
# (srcdoc frames: 1280 px on screen, and A4 width with its @media print rules
# applied) whose script writes the overflow found into <pre id="tp-result">.
import sys, html as H
rep = open(sys.argv[1]).read()
page = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0}iframe{border:0;display:block}</style></head><body>
<iframe id="screen" style="width:1280px;height:900px" srcdoc="%s"></iframe>
<iframe id="print" style="width:794px;height:900px" srcdoc="%s"></iframe>
<pre id="tp-result">pending</pre>
<script>
function check(fr, printMode) {
  var d = fr.contentDocument, over = [];
  if (printMode) {  /* apply the @media print rules as the printed page would */
    for (var s of d.styleSheets) for (var r of Array.from(s.cssRules))
      if (r.media && r.media.mediaText.indexOf('print') >= 0)
        for (var x of Array.from(r.cssRules)) s.insertRule(x.cssText, s.cssRules.length);
  }
  var w = d.documentElement.clientWidth;
  d.querySelectorAll('body *').forEach(function (e) {
    var b = e.getBoundingClientRect();
    if (b.right > w + 0.5 && (e.tagName == 'TABLE' || e.tagName == 'svg' || e.tagName == 'P' || e.tagName == 'H1'))
      over.push(e.tagName + ':' + Math.round(b.right) + ':' + e.textContent.slice(0, 25));
  });
  return fr.id + ' width=' + w + ' scroll=' + d.documentElement.scrollWidth + ' over=[' + over.join(',') + ']';
}
window.addEventListener('load', function () {
  document.getElementById('tp-result').textContent =
    check(document.getElementById('screen'), false) + '; ' + check(document.getElementById('print'), true);
});
</script></body></html>""" % (H.escape(rep, quote=True), H.escape(rep, quote=True))
open(sys.argv[2], "w").write(page)
