"""The browser viewer: static ES modules and shaders that ray-cast ``.stree`` files with WebGL2,
served from the loopback interface (``server``) or written out as a static site (``site``)."""
