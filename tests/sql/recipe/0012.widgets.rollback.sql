-- Undo 0012.widgets.
DROP TABLE widgets;
