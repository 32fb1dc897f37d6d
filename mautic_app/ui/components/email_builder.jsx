// The e-mail builder: GrapesJS with its MJML plugin, editing the e-mail's MJML in the page.
// It takes the MJML once when it mounts (the page remounts it, with a new key, when the code changes
// elsewhere) and hands every change back as MJML, a moment after the marketer stops, and once more on unmount.
import { useEffect, useRef } from "react";
import grapesjs from "grapesjs";
import grapesjsMjml from "grapesjs-mjml";
import "grapesjs/dist/css/grapes.min.css";
import "font-awesome/css/font-awesome.min.css"; // the panels' icons, from here rather than GrapesJS's CDN

const EMPTY = "<mjml><mj-body><mj-section><mj-column><mj-text>Write here</mj-text></mj-column></mj-section></mj-body></mjml>";
// No image from the internet: the placeholder is drawn here.
const PLACEHOLDER =
  "data:image/svg+xml;utf8," +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" width="350" height="200"><rect width="100%" height="100%" fill="#dbe7f5"/>' +
      '<text x="50%" y="50%" text-anchor="middle" fill="#4a6785" font-family="sans-serif" font-size="18">Image</text></svg>',
  );

export function EmailBuilder({ value, token, onChange, height }) {
  const box = useRef(null);
  const editorRef = useRef(null);
  const changedRef = useRef(() => {});
  const report = useRef(onChange);
  report.current = onChange;

  useEffect(() => {
    const editor = grapesjs.init({
      container: box.current,
      height: height || "640px",
      width: "auto",
      fromElement: false,
      storageManager: false,
      telemetry: false,
      cssIcons: "",
      plugins: [grapesjsMjml],
      pluginsOpts: { [grapesjsMjml]: { imagePlaceholderSrc: PLACEHOLDER } },
      components: value && value.includes("<mjml") ? value : EMPTY,
    });
    editorRef.current = editor;
    let timer = null;
    const send = () => {
      timer = null;
      const view = editor.getEditing() && editor.getEditing().getView();
      if (view && view.syncContent) {
        // The text being typed is not in the model yet; given its content, the sync runs at once.
        view.syncContent({ content: view.getChildrenContainer().innerHTML });
      }
      if (report.current) report.current(editor.getHtml());
    };
    const changed = () => {
      clearTimeout(timer);
      timer = setTimeout(send, 400);
    };
    changedRef.current = changed;
    editor.on("load", () => {
      editor.Canvas.getFrameEl().setAttribute("title", "E-mail being built"); // a name for screen readers (and tests)
      const blocks = editor.Panels.getButton("views", "open-blocks");
      if (blocks) blocks.set("active", true); // the blocks to drag in, not the style panel
      editor.on("update", changed);
      editor.on("component:input", changed); // typing in a text block
    });
    return () => {
      clearTimeout(timer);
      if (timer || editor.getEditing()) send();
      editor.destroy();
      editorRef.current = null;
    };
  }, []);

  // A token chosen in the page's picker goes in at the caret of the text being edited.
  useEffect(() => {
    const editor = editorRef.current;
    if (!editor || !token || !token.text) return;
    const rte = editor.RichTextEditor.globalRte;
    if (editor.getEditing() && rte) {
      rte.insertHTML(token.text);
      changedRef.current();
    }
  }, [token && token.n]);

  return <div ref={box} className="email-builder" />;
}
