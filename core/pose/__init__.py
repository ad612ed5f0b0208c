"""Pose: the athlete's body landmarks per frame from a pretrained pose model (BlazePose, LiteRT)."""
