"""Major projects (重大项目调度)."""

from citybrain.topics.builtin.major_projects.topic import MajorProjects, MajorProjectsParams

__all__ = ["MajorProjects", "MajorProjectsParams"]
