"""The workspace's default movement list (ids in this order) and a short glossary."""

DEFAULT_MOVEMENTS = [
    "bar-facing burpee",
    "chest-to-bar",
    "deadlift",
    "double-unders",
    "ghd",
    "ohs",
    "power clean",
    "shspu",
    "thruster",
]

# Real rep timing measured on competition footage (frames at 30 fps: mean, sd), from MOVEMENTS.md.
REP_FRAMES_30FPS = {
    "thruster": (27.74, 4.51),
    "chest-to-bar": (21.05, 7.42),
    "double-unders": (14.59, 1.27),
    "ghd": (58.97, 5.56),
    "power clean": (67.36, 13.01),
    "deadlift": (24.12, 7.20),
    "shspu": (43.21, 15.12),
    "ohs": (31.98, 5.43),
    "bar-facing burpee": (62.02, 10.02),
}

GLOSSARY = {
    "bar-facing burpee": "Facing a barbell on the floor: chest and thighs to the floor, jump to the feet, "
    "two-footed jump over the bar, land facing it from the other side.",
    "chest-to-bar": "Hanging from a pull-up bar with straight arms, pull (usually kipping) until the chest "
    "touches the bar, back to straight arms.",
    "deadlift": "Bar on the floor, hips hinged, straight arms; stand to full hip and knee lockout; lower.",
    "double-unders": "A small vertical jump while the rope passes under the feet twice.",
    "ghd": "Seated on a glute-ham developer, lean back until the hands touch the floor behind the head, "
    "sit up explosively to touch the feet.",
    "ohs": "Bar locked overhead with a wide grip the whole rep; squat below parallel; stand.",
    "power clean": "Bar from the floor, pull and shrug, catch in the front rack above parallel, stand.",
    "shspu": "Handstand against a wall, lower until the head touches the floor, press back without a kip.",
    "thruster": "Front-rack front squat below parallel, drive up and press the bar overhead in one motion.",
}

# Pairs a classifier must separate by motion, not by a single frame.
LOOK_ALIKES = [("thruster", "ohs"), ("power clean", "deadlift"), ("thruster", "power clean")]
