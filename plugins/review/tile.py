"""The shown tile's part of the Review dock: what it is, why it is queued, its outlines, the decision buttons,
the correction tools, and the line that shows a conflict with a decision made elsewhere."""

import numpy as np
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (QApplication, QCheckBox, QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                            QLineEdit, QPushButton, QToolButton, QVBoxLayout, QWidget)

from .correction import CorrectionTools
from .neighbour_grid import NeighbourGrid
from .keys import REVIEW_ACTIONS, shortcut_of
from ..common.settings import load_settings, save_settings
from ..common.style import CONSENSUS, STATE_COLOURS, version_colour
from .unsaved import LEAVE_CHOICES, leave_choice

__all__ = ["TileBox", "ACTION_TEXT"]

#: button text per action (the key is added from napari's shortcut settings)
ACTION_TEXT = {"previous": "◀ Prev", "next": "Next ▶", "undo": "Undo", "accept": "Accept", "reject": "Reject",
               "save": "Save edit", "history": "History", "redo": "Redo"}


def _tall_screen(height=900):
    """True on a screen at least `height` pixels high (the correction tools start open there)."""
    screen = QApplication.primaryScreen()
    return screen is None or screen.availableGeometry().height() >= height


class TileBox(QGroupBox):
    """Controls and text about the shown tile.

    Signals
    -------
    action(str)
        A button of `ACTION_TEXT` was pressed.
    layer_toggled(str, bool)
        An outline check box (a version, ``"consensus"``, ``"disagreement"``, ``"training"``).
    goto(str)
        A tile id typed in the go-to box.
    conflict_choice(str)
        ``"keep"`` (keep the edit; Save writes it over the other decision) or ``"theirs"``.
    """

    action = Signal(str)
    layer_toggled = Signal(str, bool)
    goto = Signal(str)
    conflict_choice = Signal(str)

    def __init__(self, parent=None):
        super().__init__("Current tile", parent)
        settings = load_settings()
        self.shown = {}
        self.title_label = QLabel("No tile shown")
        self.title_label.setStyleSheet("font-weight: bold; font-size: 14px;")
        self.title_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.goto_edit = QLineEdit()
        self.goto_edit.setPlaceholderText("go to tile id")
        self.goto_edit.setClearButtonEnabled(True)
        self.goto_edit.setMinimumWidth(self.goto_edit.fontMetrics().horizontalAdvance("go to tile id") + 40)
        self.goto_edit.returnPressed.connect(lambda: self.goto.emit(self.goto_edit.text().strip()))
        self.facts_label = QLabel("")
        self.facts_label.setWordWrap(True)
        self.reason_label = QLabel("")
        self.reason_label.setWordWrap(True)
        self.conflict = QWidget()
        conflict = QHBoxLayout(self.conflict)
        conflict.setContentsMargins(0, 0, 0, 0)
        self.conflict_label = QLabel("")
        self.conflict_label.setWordWrap(True)
        self.conflict_label.setStyleSheet("color: #ffb74d;")
        keep = QPushButton("Keep my edit")
        keep.setToolTip("Keep painting; Save puts your mask in force over the other decision (both stay in the "
                        "history)")
        theirs = QPushButton("Take theirs")
        theirs.setToolTip("Drop your unsaved edit and show the tile as it is now")
        keep.clicked.connect(lambda: self.conflict_choice.emit("keep"))
        theirs.clicked.connect(lambda: self.conflict_choice.emit("theirs"))
        conflict.addWidget(self.conflict_label, 1)
        conflict.addWidget(keep)
        conflict.addWidget(theirs)
        self.conflict.hide()

        self.layers_row = QGridLayout()
        self.layers_row.setHorizontalSpacing(10)
        self.layers_row.setVerticalSpacing(2)
        self.layer_checks = {}
        self.neighbours = NeighbourGrid(self)

        self.buttons = {}
        for action, text in ACTION_TEXT.items():
            button = QPushButton(text)
            button.setFocusPolicy(Qt.NoFocus)          # the keys stay with the canvas
            button.clicked.connect(lambda _=False, action=action: self.action.emit(action))
            self.buttons[action] = button
        self.refresh_keys()
        for action, state in (("accept", "accepted"), ("reject", "rejected"), ("save", "corrected")):
            # the colour only while enabled: a disabled button keeps the theme's greyed look
            self.buttons[action].setStyleSheet(f"QPushButton:enabled {{ color: {STATE_COLOURS[state]}; }}")
        self.advance_check = QCheckBox("auto-advance")
        self.advance_check.setToolTip("Go to the next tile in the queue after each decision")
        self.advance_check.setChecked(bool(settings.get("review_advance", True)))
        self.advance_check.toggled.connect(lambda on: save_settings(review_advance=bool(on)))
        self.leave_combo = QComboBox()
        for choice, words in LEAVE_CHOICES.items():
            self.leave_combo.addItem(words, choice)
        self.leave_combo.setCurrentIndex(list(LEAVE_CHOICES).index(leave_choice(settings)))
        self.leave_combo.setToolTip("What happens to a mask you changed but did not save when you leave the tile "
                                    "(next, another tile, the grid, another dock, closing): save it as a "
                                    "correction (undo takes it back), drop it, or ask each time")
        self.leave_combo.currentIndexChanged.connect(
            lambda _: save_settings(review_unsaved=self.leave_combo.currentData()))
        keys = {action: shortcut_of(action) for action in ("use_consensus", "fill_holes", "remove_specks", "smooth",
                                                           "clear")}
        self.correction = CorrectionTools(keys)

        decide = QGridLayout()
        decide.setSpacing(4)
        for position, action in enumerate(("previous", "next", "undo", "redo", "accept", "reject", "save",
                                           "history")):
            decide.addWidget(self.buttons[action], position // 4, position % 4)
        title = QHBoxLayout()
        title.addWidget(self.title_label, 1)          # a line of its own: the state is never cut off
        title.addWidget(self.goto_edit)
        head = QHBoxLayout()                         # the neighbours' height holds the facts and the reason
        head.addWidget(self.neighbours, 0, Qt.AlignTop)
        text = QVBoxLayout()
        text.setSpacing(4)
        text.addWidget(self.facts_label)
        text.addWidget(self.reason_label)
        text.addStretch(1)
        head.addLayout(text, 1)
        self.tools_button = QToolButton()              # the correction tools fold away on a small screen
        self.tools_button.setCheckable(True)
        self.tools_button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.tools_button.setAutoRaise(True)
        self.tools_button.setFocusPolicy(Qt.NoFocus)
        self.tools_button.toggled.connect(self._on_tools_toggled)
        self.tools_button.setChecked(bool(settings.get("review_tools_open", _tall_screen())))
        self._on_tools_toggled(self.tools_button.isChecked())
        self.tools_button.toggled.connect(lambda on: save_settings(review_tools_open=bool(on)))
        options = QHBoxLayout()
        options.addWidget(self.advance_check)
        options.addStretch(1)
        options.addWidget(QLabel("unsaved edit on leaving:"))
        options.addWidget(self.leave_combo)
        layout = QVBoxLayout(self)
        layout.setSpacing(4)
        layout.addLayout(title)
        layout.addLayout(head)
        layout.addWidget(self.conflict)
        layout.addLayout(decide)                        # the decisions first: seen on the smallest screen
        layout.addLayout(self.layers_row)
        layout.addWidget(self.tools_button)
        layout.addWidget(self.correction)
        layout.addLayout(options)

    def _on_tools_toggled(self, shown):
        self.correction.setVisible(bool(shown))
        self.tools_button.setArrowType(Qt.DownArrow if shown else Qt.RightArrow)
        self.tools_button.setText("Correction tools" if shown else "Correction tools (start from a model's mask, "
                                                                   "clean up)")

    def refresh_keys(self):
        """Write each action's key (napari's shortcut settings, as remapped) on its button and tooltip."""
        for action, button in self.buttons.items():
            key = shortcut_of(action)
            button.setText(f"{ACTION_TEXT[action]} [{key}]" if key else ACTION_TEXT[action])
            description = REVIEW_ACTIONS[action][1].split(": ", 1)[1]
            button.setToolTip(f"{description[:1].upper()}{description[1:]}" + (f" (key {key}; change it in "
                                                                               "napari's Preferences > Shortcuts)"
                                                                               if key else ""))

    @property
    def leave(self):
        """What to do with an unsaved edit when leaving the tile: a key of `LEAVE_CHOICES`."""
        return self.leave_combo.currentData()

    def set_leave(self, choice):
        """Choose what happens to an unsaved edit on leaving (``"save"``, ``"discard"`` or ``"ask"``)."""
        self.leave_combo.setCurrentIndex(list(LEAVE_CHOICES).index(choice))

    # ------------------------------------------------------------------ text
    def describe(self, display, dirty=0, requested=None):
        """Title, facts and reason lines of a `TileDisplay`.

        Parameters
        ----------
        dirty : int or bool
            Pixels of the shown mask changed and not saved (True: some).
        """
        from saltviewer.store import REASON_COLOURS, REASONS

        depth = "depth ?" if not np.isfinite(display.depth) else f"{display.depth:.0f} ft"
        kind = "labelled" if display.kind == "label" else "unlabelled"
        state = display.shown_state
        colour = STATE_COLOURS.get(state, "#d8d8d8")
        self.title_label.setText(f"{display.tile}  <span style='color:{colour}'>{state}</span>")
        lines = [f"{kind} · {depth} · cover {100 * display.coverage:.0f}%"]
        if display.view is not None:
            scores = display.view.scores
            m = len(display.view.versions)
            if m > 1:
                lines.append(f"{m} models: mean IoU {scores.get('mean_iou', 1):.3f} · "
                             f"{100 * scores.get('pixel_disagreement', 0):.1f}% of pixels split")
            else:
                lines.append("1 model version: train another to see where models disagree")
            if "truth_iou" in scores:
                lines.append(f"consensus vs training mask: IoU {scores['truth_iou']:.3f}")
        else:
            lines.append("no model predictions yet")
        if dirty:
            changed = f": {int(dirty):,} pixel{'s' if int(dirty) != 1 else ''} changed" if dirty is not True else ""
            lines.append(f"<span style='color:{STATE_COLOURS['corrected']}'><b>edited, not saved</b>{changed} "
                         f"(S saves, A saves it as the correction)</span>")
        self.facts_label.setText("<br>".join(lines))
        parts = []
        item = display.item
        if item is not None:
            why = item.why
            parts.append(f"<span style='color:{REASON_COLOURS.get(why, '#c0c4cc')}'><b>{why}</b></span>: "
                         f"{item.reason or REASONS.get(why, '')}")
            if item.disputed and not item.decided:
                parts.append("<i>the models disagree: start from one model's mask or the consensus below, "
                             "correct it and save, or reject it</i>")
            if item.decided:
                parts.append(f"{item.state} by {item.updated_by} at {item.updated_at[:16].replace('T', ' ')}")
        elif display.kind == "label":
            parts.append("a labelled tile, not queued: its training mask can be corrected here")
        else:
            parts.append("not queued: draw a mask to label it by hand")
        if requested:
            parts.append(f"opened from {requested}")
        self.reason_label.setText("<br>".join(parts))
        self.reason_label.setToolTip(item.criterion if item is not None else "")

    def sync_layer_checks(self, display):
        """One check box per outline (each model version, consensus, training mask) and the heat map."""
        names = list(display.view.versions) if display.view is not None else []
        names += (["consensus", "heat map"] if display.view is not None else []) + \
            (["training"] if display.truth is not None else [])
        if names == list(self.layer_checks):
            return
        for check in self.layer_checks.values():
            self.layers_row.removeWidget(check)
            check.setParent(None)              # gone at once, not at the next deferred delete
            check.deleteLater()
        self.layer_checks = {}
        for position, name in enumerate(names):
            key = "disagreement" if name == "heat map" else name
            check = QCheckBox(name)
            check.setFocusPolicy(Qt.NoFocus)
            check.setChecked(self.shown.get(key, True))
            if name == "consensus":
                check.setStyleSheet(f"color: {CONSENSUS};")
            elif name == "training":
                check.setToolTip("outline of the training mask (white)")
            elif name == "heat map":
                check.setToolTip("pixels where the model versions disagree (bright: an even split)")
            else:
                check.setStyleSheet(f"color: {version_colour(position)};")
                check.setToolTip(f"outline of {name}'s mask")
            check.toggled.connect(lambda on, key=key: self._on_toggled(key, on))
            self.layers_row.addWidget(check, position // 4, position % 4)
            self.layer_checks[name] = check

    def _on_toggled(self, key, on):
        self.shown[key] = bool(on)
        self.layer_toggled.emit(key, bool(on))

    def show_conflict(self, text):
        self.conflict_label.setText(text)
        self.conflict.setVisible(bool(text))
