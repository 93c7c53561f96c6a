-- Undo 0011.widgets.
DROP TABLE widgets;
